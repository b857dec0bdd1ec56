#pragma once
// One HTTP POST with libcurl, for the notifiers. Blocking, thread-safe (a
// fresh easy handle per call), with a total timeout. Never throws.
//
// Abort: a request given an abort flag gives up within about a second of the
// flag turning true (libcurl's progress callback, called at least once a
// second while connecting or waiting), and answers with `aborted` set: no
// verdict on the receiver, so the caller neither retries it as a failure nor
// drops it.

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"

namespace datawatch {

struct HttpRequest {
  std::string url;
  std::string body;
  std::vector<std::string> headers;  // "Name: value"
  Duration timeout{std::chrono::seconds(10)};
  size_t max_response = 4096;  // bytes of the response body kept
};

struct HttpResponse {
  long status = 0;                      // 0 when no response arrived (see error)
  std::string body;                     // the first HttpRequest::max_response bytes
  std::string error;                    // transport error (connection refused, timeout), or ""
  std::optional<Duration> retry_after;  // from a Retry-After header (seconds or HTTP date)
  bool aborted = false;                 // given up because the abort flag was set

  bool ok() const { return error.empty() && status >= 200 && status < 300; }
  // Worth retrying: no response, 408, 429 or 5xx. Other 4xx mean the request
  // itself is wrong (bad routing key, malformed payload) and will not improve.
  bool retryable() const {
    return !error.empty() || status == 408 || status == 429 || status >= 500 || status == 0;
  }
  // "HTTP 500: <body>" or the transport error, for logs (the URL is never part of it).
  std::string describe() const;
};

// `now` resolves Retry-After dates into a delay. `abort`, when given, must
// outlive the call.
HttpResponse httpPost(const HttpRequest& req, TimePoint now,
                      const std::atomic<bool>* abort = nullptr);

}  // namespace datawatch
