#include "agent/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <nlohmann/json.hpp>

#include "core/utf8.hpp"

namespace datawatch {
namespace {

class RedactingFormatter final : public spdlog::formatter {
 public:
  RedactingFormatter(LogFormat format, std::shared_ptr<RedactorHolder> redactor)
      : format_(format),
        redactor_(std::move(redactor)),
        text_(std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ %v",
                                                          spdlog::pattern_time_type::utc)),
        ts_(std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%eZ",
                                                        spdlog::pattern_time_type::utc, "")) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string clean =
        redactor_->redact(std::string_view(msg.payload.data(), msg.payload.size()));
    spdlog::details::log_msg copy = msg;
    copy.payload = clean;
    if (format_ == LogFormat::Text) {
      text_->format(copy, dest);
      msg.color_range_start = copy.color_range_start;
      msg.color_range_end = copy.color_range_end;
      return;
    }
    spdlog::memory_buf_t ts;
    ts_->format(copy, ts);
    nlohmann::json j;
    j["ts"] = std::string(ts.data(), ts.size());
    const auto level = spdlog::level::to_string_view(msg.level);
    j["level"] = std::string(level.data(), level.size());
    j["msg"] = clean;
    const std::string line = dumpJson(j) + "\n";
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<RedactingFormatter>(format_, redactor_);
  }

 private:
  LogFormat format_;
  std::shared_ptr<RedactorHolder> redactor_;
  std::unique_ptr<spdlog::pattern_formatter> text_;
  std::unique_ptr<spdlog::pattern_formatter> ts_;
};

}  // namespace

std::shared_ptr<spdlog::logger> makeLogger(LogFormat format, spdlog::level::level_enum level,
                                           std::shared_ptr<RedactorHolder> redactor) {
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(
      format == LogFormat::Json ? spdlog::color_mode::never : spdlog::color_mode::automatic);
  sink->set_formatter(std::make_unique<RedactingFormatter>(format, std::move(redactor)));
  auto logger = std::make_shared<spdlog::logger>("datawatch", sink);
  logger->set_level(level);
  logger->flush_on(spdlog::level::info);
  return logger;
}

}  // namespace datawatch
