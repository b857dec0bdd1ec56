#include "alerting/http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

namespace datawatch {
namespace {

struct Collected {
  size_t max_body = 0;
  std::string body;
  std::string retry_after;
};

size_t onBody(char* data, size_t size, size_t n, void* user) {
  auto* c = static_cast<Collected*>(user);
  const size_t len = size * n;
  if (c->body.size() < c->max_body)
    c->body.append(data, std::min(len, c->max_body - c->body.size()));
  return len;
}

size_t onHeader(char* data, size_t size, size_t n, void* user) {
  auto* c = static_cast<Collected*>(user);
  const size_t len = size * n;
  std::string line(data, len);
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (name == "retry-after") {
      std::string v = line.substr(colon + 1);
      const auto b = v.find_first_not_of(" \t");
      const auto e = v.find_last_not_of(" \t\r\n");
      c->retry_after = b == std::string::npos ? "" : v.substr(b, e - b + 1);
    }
  }
  return len;
}

// libcurl's progress callback: non-zero makes the transfer fail with
// CURLE_ABORTED_BY_CALLBACK.
int onProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* abort = static_cast<const std::atomic<bool>*>(user);
  return abort->load() ? 1 : 0;
}

void globalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::optional<Duration> parseRetryAfter(const std::string& v, TimePoint now) {
  if (v.empty()) return std::nullopt;
  if (std::all_of(v.begin(), v.end(), [](unsigned char ch) { return std::isdigit(ch); })) {
    if (v.size() > 9) return std::chrono::hours(24);
    return std::chrono::seconds(std::stol(v));
  }
  const time_t when = curl_getdate(v.c_str(), nullptr);  // HTTP date
  if (when < 0) return std::nullopt;
  const auto delay = std::chrono::system_clock::from_time_t(when) - now;
  return std::max(Duration{0}, std::chrono::duration_cast<Duration>(delay));
}

}  // namespace

std::string HttpResponse::describe() const {
  if (!error.empty()) return error;
  std::string b = body.substr(0, 300);
  std::replace(b.begin(), b.end(), '\n', ' ');
  while (!b.empty() && std::isspace(static_cast<unsigned char>(b.back()))) b.pop_back();
  return "HTTP " + std::to_string(status) + (b.empty() ? "" : ": " + b);
}

HttpResponse httpPost(const HttpRequest& req, TimePoint now, const std::atomic<bool>* abort) {
  globalInit();
  HttpResponse res;
  CURL* curl = curl_easy_init();
  if (!curl) {
    res.error = "cannot initialise libcurl";
    return res;
  }
  Collected got;
  got.max_body = req.max_response;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json; charset=utf-8");
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  for (const auto& h : req.headers) headers = curl_slist_append(headers, h.c_str());
  const long timeout_ms = static_cast<long>(std::max<int64_t>(1, req.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req.body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms, 10000L));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "datawatch");
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, onBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &got);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, onHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &got);
  if (abort) {
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, onProgress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(abort));
  }
  const CURLcode rc = abort && abort->load() ? CURLE_ABORTED_BY_CALLBACK : curl_easy_perform(curl);
  if (rc == CURLE_ABORTED_BY_CALLBACK) {
    res.aborted = true;
    res.error = "aborted: the agent is stopping";
  } else if (rc != CURLE_OK) {
    // The error buffer names host and port at most, never the URL's path or
    // query, where webhook secrets live.
    res.error = errbuf[0] ? errbuf : curl_easy_strerror(rc);
  } else {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &res.status);
    res.body = std::move(got.body);
    res.retry_after = parseRetryAfter(got.retry_after, now);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return res;
}

}  // namespace datawatch
