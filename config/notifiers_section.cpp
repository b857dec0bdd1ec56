// The `notifiers:` section.
#include "config/sections.hpp"

namespace datawatch::config::detail {

namespace {

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
  r.checkKeys({"webhook_url", "mention", "channel", "group_wait"});
  SlackNotifierConfig s;
  s.webhook_url = r.url("webhook_url", true, true);
  s.mention = r.m.str("mention").value_or("");
  s.channel = r.m.str("channel").value_or("");
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
  if (r.m.has("url")) p.url = r.url("url", false, false);
  return p;
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
    r.checkKeys({"url"});
    n.spec = AlertmanagerNotifierConfig{r.url("url", true, false)};
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
