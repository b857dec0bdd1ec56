#include "agent/http_server.hpp"

#include <httplib.h>

#include <cstdio>

#include <charconv>

#include "core/markup.hpp"

namespace datawatch {

bool tokensEqual(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::string& longer = a.size() >= b.size() ? a : b;
  for (size_t i = 0; i < longer.size(); ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

namespace {

void jsonError(httplib::Response& res, int code, const std::string& message) {
  res.status = code;
  res.set_content(nlohmann::json{{"error", message}}.dump(), "application/json");
}

}  // namespace

std::string renderStatusPage(const nlohmann::json& status) {
  std::string rows;
  for (const auto& p : status.value("probes", nlohmann::json::array())) {
    const auto last = p.value("last", nlohmann::json());
    const std::string st = last.is_object() ? last.value("status", "") : "pending";
    std::string value = "";
    if (last.is_object() && last.contains("value") && last["value"].is_number()) {
      value = nlohmann::json(last["value"]).dump() + " " + last.value("unit", "");
    }
    rows += "<tr class=\"" + xmlEscape(st) + "\"><td>" + xmlEscape(p.value("name", "")) +
            "</td><td>" + xmlEscape(p.value("type", "")) + "</td><td>" +
            xmlEscape(p.value("target", "")) + "</td><td>" + xmlEscape(st) + "</td><td>" +
            xmlEscape(value) + "</td><td>" +
            xmlEscape(last.is_object() ? last.value("message", "") : "") + "</td><td>" +
            xmlEscape(last.is_object() ? last.value("observed_at", "") : "") + "</td></tr>\n";
  }
  // SLOs: objective, SLI and budget over the window, what is breaching, burn rates.
  std::string slo_rows;
  auto pct = [](const nlohmann::json& v) {
    if (!v.is_number()) return std::string("-");
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f%%", v.get<double>() * 100);
    return std::string(buf);
  };
  for (const auto& s : status.value("slos", nlohmann::json::array())) {
    std::string breaching, burns;
    for (const auto& b : s.value("breaching", nlohmann::json::array()))
      breaching += (breaching.empty() ? "" : ", ") + b.get<std::string>();
    for (const auto& w : s.value("windows", nlohmann::json::array())) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%s %.2f", w.value("window", "").c_str(),
                    w.value("burn_rate", 0.0));
      burns += (burns.empty() ? "" : " &middot; ") + xmlEscape(buf);
    }
    const std::string cls = breaching.empty() ? "pass" : "fail";
    slo_rows += "<tr class=\"" + cls + "\"><td>" + xmlEscape(s.value("name", "")) + "</td><td>" +
                xmlEscape(nlohmann::json(s.value("objective_percent", 0.0)).dump()) + "% / " +
                xmlEscape(s.value("window", "")) + "</td><td>" +
                pct(s.value("sli", nlohmann::json())) + "</td><td>" +
                xmlEscape(breaching.empty() ? "ok" : breaching) + "</td><td>" +
                pct(s.value("error_budget_remaining", nlohmann::json())) + "</td><td>" + burns +
                "</td></tr>\n";
  }
  const std::string slo_table =
      slo_rows.empty()
          ? std::string()
          : "<h2>SLOs</h2><table><tr><th>slo</th><th>objective</th><th>SLI</th><th>breaching</"
            "th><th>budget left</th><th>burn rates</th></tr>\n" +
                slo_rows + "</table>";
  // Firing alerts, with what mutes them; then the silences.
  std::string alert_rows;
  for (const auto& a : status.value("alerts", nlohmann::json::array())) {
    std::string muted = "sent";
    if (a.contains("silenced_by") && a["silenced_by"].is_string())
      muted = "silenced by " + a["silenced_by"].get<std::string>();
    else if (!a.value("inhibited_by", nlohmann::json::array()).empty())
      muted = "inhibited by failing upstream " + a["inhibited_by"].dump();
    alert_rows += "<tr class=\"fail\"><td>" + xmlEscape(a.value("id", "")) + "</td><td>" +
                  xmlEscape(a.value("started_at", "")) + "</td><td>" + xmlEscape(muted) +
                  "</td><td>firing</td><td>" + xmlEscape(a.value("summary", "")) + "</td></tr>\n";
  }
  for (const auto& x : status.value("silences", nlohmann::json::array())) {
    alert_rows += "<tr><td>silence " + xmlEscape(x.value("id", "")) + "</td><td>until " +
                  xmlEscape(x.value("ends", "")) + "</td><td>" +
                  xmlEscape(x.value("match", nlohmann::json::object()).dump()) + "</td><td>" +
                  (x.value("active", false) ? "active" : "pending") + "</td><td>" +
                  xmlEscape(x.value("reason", "")) + "</td></tr>\n";
  }
  const std::string alert_table =
      alert_rows.empty() ? std::string()
                         : "<h2>Alerts</h2><table><tr><th>alert</th><th>since</th><th>notified</"
                           "th><th>state</th><th>summary</th></tr>\n" +
                               alert_rows + "</table>";
  return "<!doctype html><html><head><meta charset=\"utf-8\"><title>datawatch</title>"
         "<meta http-equiv=\"refresh\" content=\"30\">"
         "<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
         "table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid "
         "#ddd;text-align:left}"
         "tr.pass td:nth-child(4){color:#1a7f37}tr.fail "
         "td:nth-child(4){color:#cf222e;font-weight:bold}"
         "tr.error td:nth-child(4){color:#9a6700;font-weight:bold}</style></head><body>"
         "<h1>datawatch</h1><p>version " +
         xmlEscape(status.value("version", "")) + " &middot; " +
         xmlEscape(status.value("now", "")) +
         " &middot; <a href=\"/metrics\">/metrics</a> &middot; "
         "<a href=\"/api/v1/status\">/api/v1/status</a> &middot; <a href=\"/healthz\">/healthz</a> "
         "&middot; "
         "<a href=\"/readyz\">/readyz</a></p>" +
         alert_table + slo_table +
         "<h2>Probes</h2><table><tr><th>probe</th><th>type</th><th>target</th><th>status</"
         "th><th>value</"
         "th><th>message</th>"
         "<th>observed</th></tr>\n" +
         rows + "</table></body></html>\n";
}

HttpServer::HttpServer(HttpApi& api) : api_(api), server_(std::make_unique<httplib::Server>()) {
  routes();
}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::routes() {
  auto& s = *server_;
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(api_.metricsText(), "text/plain; version=0.0.4; charset=utf-8");
  });
  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  s.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    auto st = api_.ready();
    if (st) {
      res.set_content("ready\n", "text/plain");
    } else {
      res.status = 503;
      res.set_content("not ready: " + st.message() + "\n", "text/plain");
    }
  });
  // Mutations need `Authorization: Bearer <agent.api_token>`; false (and the
  // response set) when the request may not go on.
  auto authorized = [this](const httplib::Request& req, httplib::Response& res, const char* what) {
    auto token = api_.apiToken();
    if (!token) {
      jsonError(res, 403, std::string(what) + " over HTTP is disabled: set agent.api_token");
      return false;
    }
    const std::string auth = req.get_header_value("Authorization");
    if (auth.rfind("Bearer ", 0) != 0 || !tokensEqual(auth.substr(7), *token)) {
      jsonError(res, 401, "missing or wrong bearer token");
      return false;
    }
    return true;
  };
  s.Post("/-/reload", [this, authorized](const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req, res, "reload")) return;
    auto st = api_.reload();
    if (!st) return jsonError(res, 400, st.message());
    res.set_content(nlohmann::json{{"status", "reloaded"}}.dump(), "application/json");
  });
  s.Get("/api/v1/status", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(api_.status().dump(2, ' ', false, nlohmann::json::error_handler_t::replace),
                    "application/json");
  });
  s.Get("/api/v1/incidents", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(api_.incidents().dump(2), "application/json");
  });
  s.Get(R"(/api/v1/incidents/([A-Za-z0-9_-]+))",
        [this](const httplib::Request& req, httplib::Response& res) {
          auto inc = api_.incident(req.matches[1]);
          if (!inc) return jsonError(res, 404, "no incident " + std::string(req.matches[1]));
          res.set_content(inc->dump(2), "application/json");
        });
  s.Get("/api/v1/silences", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(api_.silences().dump(2), "application/json");
  });
  s.Post("/api/v1/silences",
         [this, authorized](const httplib::Request& req, httplib::Response& res) {
           if (!authorized(req, res, "changing silences")) return;
           auto body = nlohmann::json::parse(req.body, nullptr, false);
           if (body.is_discarded()) return jsonError(res, 400, "the body is not valid JSON");
           auto created = api_.addSilence(body);
           if (!created) return jsonError(res, 400, created.error());
           res.status = 201;
           res.set_content(created->dump(2), "application/json");
         });
  s.Delete(R"(/api/v1/silences/([A-Za-z0-9_-]+))",
           [this, authorized](const httplib::Request& req, httplib::Response& res) {
             if (!authorized(req, res, "changing silences")) return;
             auto st = api_.deleteSilence(req.matches[1]);
             if (!st) return jsonError(res, 404, st.message());
             res.status = 204;
           });
  s.Get("/", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(renderStatusPage(api_.status()), "text/html; charset=utf-8");
  });
  s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.status == 404) jsonError(res, 404, "not found");
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    jsonError(res, 500, "internal error");
  });
}

Result<int> HttpServer::start(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos)
    return Result<int>::Error("listen address must be HOST:PORT, got \"" + listen + "\"");
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  int port = -1;
  const std::string ps = listen.substr(colon + 1);
  auto [p, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), port);
  if (ec != std::errc() || p != ps.data() + ps.size() || port < 0 || port > 65535) {
    return Result<int>::Error("listen address must be HOST:PORT, got \"" + listen + "\"");
  }
  if (port == 0) {
    port = server_->bind_to_any_port(host);
    if (port < 0) return Result<int>::Error("cannot listen on " + listen);
  } else if (!server_->bind_to_port(host, port)) {
    return Result<int>::Error("cannot listen on " + listen + " (address in use or not available)");
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return port;
}

void HttpServer::stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace datawatch
