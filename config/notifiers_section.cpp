// The `notifiers:` section.
#include "config/sections.hpp"

namespace datawatch::config::detail {

namespace {

std::string withoutTrailingSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// One notifier being read: its map and its name for messages.
struct NotifierReader {
  MapReader& m;
  const std::string what;

  // The keys of this type plus the ones every notifier has.
  void checkKeys(std::vector<std::string_view> own) {
    for (auto k : {"type", "repeat_interval", "timeout"}) own.push_back(k);
    m.checkKeys(own);
  }
  std::string url(const std::string& key, bool required, bool secret) {
    auto v = m.str(key, required, secret);
    if (!v) return "";
    if (v->rfind("http://", 0) != 0 && v->rfind("https://", 0) != 0) {
      m.error(key, what + ": " + key + " must be an http:// or https:// URL");
    }
    return *v;
  }
};

SlackNotifierConfig readSlack(NotifierReader& r) {
  r.checkKeys({"webhook_url", "token", "api_url", "mention", "channel", "group_wait"});
  SlackNotifierConfig s;
  s.mention = r.m.str("mention").value_or("");
  s.channel = r.m.str("channel").value_or("");
  if (!r.m.has("token") && !r.m.has("webhook_url")) {
    r.m.error("webhook_url", r.what +
                                 ": set webhook_url (an incoming webhook) or token (a bot "
                                 "token for the Web API, with channel)");
  } else if (!r.m.has("token")) {  // an incoming webhook
    s.webhook_url = r.url("webhook_url", true, true);
    if (r.m.has("api_url"))
      r.m.error("api_url", r.what + ": api_url is for the Web API (token), not webhook_url");
  } else if (r.m.has("webhook_url")) {
    r.m.error("webhook_url", r.what +
                                 ": set webhook_url (an incoming webhook) or token (the "
                                 "Web API, with channel), not both");
  } else {
    s.token = r.m.str("token", true, true).value_or("");
    if (r.m.has("api_url")) s.api_url = withoutTrailingSlash(r.url("api_url", false, false));
    if (s.channel.empty())
      r.m.error(r.m.has("channel") ? "channel" : "token",
                r.what + ": the Web API (token) needs a channel (its ID, e.g. C0123ABCD)");
  }
  if (auto d = r.m.duration("group_wait", false, Duration{0})) s.group_wait = *d;
  return s;
}

WebhookNotifierConfig readWebhook(NotifierReader& r) {
  MapReader& m = r.m;
  r.checkKeys({"url", "secret", "format", "headers"});
  WebhookNotifierConfig w;
  w.url = r.url("url", true, true);
  if (auto v = m.str("secret", false, true)) w.secret = *v;
  if (auto v = m.str("format")) {
    if (*v == "datawatch")
      w.format = WebhookFormat::Datawatch;
    else if (*v == "alertmanager")
      w.format = WebhookFormat::Alertmanager;
    else
      m.error("format", r.what + ": format must be datawatch or alertmanager" +
                            didYouMean(*v, {"datawatch", "alertmanager"}));
  }
  if (auto h = m.strMap("headers", true)) w.headers = *h;
  return w;
}

PagerdutyNotifierConfig readPagerduty(NotifierReader& r) {
  r.checkKeys({"routing_key", "url"});
  PagerdutyNotifierConfig p;
  if (auto v = r.m.str("routing_key", true, true)) p.routing_key = *v;
  if (r.m.has("url")) p.url = withoutTrailingSlash(r.url("url", false, false));
  return p;
}

AlertmanagerNotifierConfig readAlertmanager(NotifierReader& r) {
  MapReader& m = r.m;
  r.checkKeys({"url", "urls", "basic_auth", "bearer_token", "generator_url"});
  AlertmanagerNotifierConfig a;
  if (!m.has("url") && !m.has("urls"))
    m.error("url", r.what + ": set url, or urls (a list: every Alertmanager of an HA pair)");
  if (m.has("url") && m.has("urls")) m.error("urls", r.what + ": set url or urls, not both");
  if (m.has("url")) a.urls.push_back(withoutTrailingSlash(r.url("url", true, false)));
  if (auto list = m.strList("urls")) {
    if (list->empty()) m.error("urls", r.what + ": urls is empty");
    for (const auto& u : *list) {
      if (u.rfind("http://", 0) != 0 && u.rfind("https://", 0) != 0)
        m.error("urls", r.what + ": \"" + u + "\" is not an http:// or https:// URL");
      a.urls.push_back(withoutTrailingSlash(u));
    }
  }
  if (m.has("basic_auth") && m.has("bearer_token"))
    m.error("bearer_token", r.what + ": set basic_auth or bearer_token, not both");
  if (m.has("basic_auth")) {
    MapReader b(m.ctx(), m.doc(), m.raw("basic_auth"), r.what + " basic_auth");
    b.checkKeys({"username", "password"});
    if (b.ok())
      a.basic_auth = BasicAuth{b.str("username", true).value_or(""),
                               b.str("password", true, true).value_or("")};
  }
  if (auto v = m.str("bearer_token", false, true)) {
    if (v->empty()) m.error("bearer_token", r.what + ": bearer_token is empty");
    a.bearer_token = *v;
  }
  if (m.has("generator_url")) a.generator_url = r.url("generator_url", false, false);
  return a;
}

// The type-specific part; false for an unknown type.
bool readSpec(NotifierReader& r, const Doc& doc, const std::string& type, NotifierConfig& n) {
  if (type == "slack") {
    n.type = NotifierType::Slack;
    n.spec = readSlack(r);
  } else if (type == "webhook") {
    n.type = NotifierType::Webhook;
    n.spec = readWebhook(r);
  } else if (type == "pagerduty") {
    n.type = NotifierType::Pagerduty;
    n.spec = readPagerduty(r);
  } else if (type == "alertmanager") {
    n.type = NotifierType::Alertmanager;
    n.spec = readAlertmanager(r);
  } else if (type == "file") {
    n.type = NotifierType::File;
    r.checkKeys({"path"});
    FileNotifierConfig f;
    if (auto v = r.m.str("path", true)) f.path = resolvePath(doc, *v);
    n.spec = f;
  } else {
    r.m.error("type",
              r.what + ": unknown notifier type \"" + type +
                  "\" (expected slack, webhook, pagerduty, alertmanager or file)" +
                  didYouMean(type, {"slack", "webhook", "pagerduty", "alertmanager", "file"}));
    return false;
  }
  return true;
}

}  // namespace

void parseNotifier(Ctx& ctx, const Entry& e, std::vector<NotifierConfig>& out) {
  MapReader m(ctx, *e.doc, e.node, "notifier \"" + e.key + "\"");
  if (!m.ok()) return;
  NotifierConfig n;
  n.name = e.key;
  n.loc = ctx.loc(*e.doc, e.key_node);
  if (!validName(n.name, true))
    ctx.error(n.loc, "notifier name \"" + n.name + "\" must match [a-z0-9_-]+");
  auto type = m.str("type", true);
  if (!type) return;
  if (auto d = m.duration("repeat_interval", false, std::chrono::minutes(1)))
    n.repeat_interval = *d;
  if (auto d = m.duration("timeout")) n.timeout = *d;
  NotifierReader r{m, "notifier \"" + n.name + "\""};
  if (!readSpec(r, *e.doc, *type, n)) return;
  out.push_back(std::move(n));
}

}  // namespace datawatch::config::detail
