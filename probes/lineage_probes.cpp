#include "probes/lineage_probes.hpp"

#include <cmath>

#include "core/duration.hpp"
#include "core/time_format.hpp"
#include "core/timezone.hpp"
#include "probes/freshness_judge.hpp"
#include "probes/volume_judge.hpp"

namespace datawatch {
namespace {

Duration since(TimePoint now, TimePoint t) {
  return std::max(Duration::zero(), std::chrono::duration_cast<Duration>(now - t));
}

std::string runRef(const lineage::RunState& run) {
  return "runId " + run.run_id;
}

nlohmann::json runJson(const lineage::RunState& run) {
  nlohmann::json j = {{"run_id", run.run_id}, {"state", lineage::toString(run.state)}};
  j["started_at"] = run.started_at ? nlohmann::json(formatRfc3339(*run.started_at)) : nullptr;
  j["ended_at"] = run.ended_at ? nlohmann::json(formatRfc3339(*run.ended_at)) : nullptr;
  if (run.error_message) j["error_message"] = *run.error_message;
  return j;
}

// The error every lineage probe reports while the graph misses stored events.
std::optional<ProbeResult> incomplete(const lineage::LineageGraph& graph) {
  if (graph.complete()) return std::nullopt;
  return ProbeResult::error(
      "the stored OpenLineage events could not be read yet (state store); no verdict on part "
      "of the history");
}

// An errorMessage facet may carry a whole stack trace: alerts get its start.
std::string shortError(const std::string& message) {
  constexpr size_t kMax = 500;
  if (message.size() <= kMax) return message;
  size_t cut = kMax;  // not inside a UTF-8 sequence
  while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) --cut;
  return message.substr(0, cut) + "…";
}

class JobProbe final : public Probe {
 public:
  JobProbe(config::ProbeConfig cfg, const lineage::LineageGraph& graph)
      : cfg_(std::move(cfg)), spec_(std::get<config::JobSpec>(cfg_.spec)), graph_(graph) {}

  const config::ProbeConfig& config() const override { return cfg_; }

  ProbeResult run(const RunContext& ctx) override {
    if (auto err = incomplete(graph_)) return *err;
    const auto job = graph_.job(spec_.job);
    nlohmann::json details = {{"job", spec_.job}};
    std::vector<std::string> problems;
    std::optional<double> value;
    if (job && job->last_complete) {
      value = std::chrono::duration<double>(since(ctx.now, *job->last_complete)).count();
      details["last_complete"] = formatRfc3339(*job->last_complete);
      details["last_complete_run"] = job->last_complete_run;
    }
    if (job && job->last_run) {
      details["last_run"] = runJson(*job->last_run);
      judgeLastRun(ctx.now, *job->last_run, problems);
    }
    judgeCompletion(ctx.now, job ? job->last_complete : std::nullopt, problems);
    ProbeResult r = problems.empty()
                        ? ProbeResult::pass(value.value_or(0), "seconds", passMessage(ctx.now, job))
                        : ProbeResult::fail(value, "seconds", join(problems));
    if (problems.empty() && !value) r.value.reset();
    r.threshold = threshold(ctx.now);
    r.details = std::move(details);
    return r;
  }

 private:
  void judgeLastRun(TimePoint now, const lineage::RunState& run,
                    std::vector<std::string>& problems) const {
    if (run.state == lineage::EventType::Fail || run.state == lineage::EventType::Abort) {
      std::string p = std::string("last run ") +
                      (run.state == lineage::EventType::Fail ? "FAILED" : "ABORTED") + " at " +
                      formatRfc3339(run.ended_at.value_or(run.last_event)) + " (" + runRef(run) +
                      ")";
      if (run.error_message) p += ": " + shortError(*run.error_message);
      problems.push_back(std::move(p));
      return;
    }
    if (!run.ended() && spec_.max_duration && run.started_at) {
      const Duration running = since(now, *run.started_at);
      if (running > *spec_.max_duration)
        problems.push_back("running for " + humanDuration(running) + " > " +
                           humanDuration(*spec_.max_duration) + " (" + runRef(run) + ", started " +
                           formatRfc3339(*run.started_at) + ")");
    }
  }

  void judgeCompletion(TimePoint now, std::optional<TimePoint> last_complete,
                       std::vector<std::string>& problems) const {
    const std::string last = last_complete ? formatRfc3339(*last_complete) + " (" +
                                                 humanDuration(since(now, *last_complete)) + " ago)"
                                           : "";
    if (spec_.max_age && (!last_complete || since(now, *last_complete) > *spec_.max_age)) {
      problems.push_back(last_complete
                             ? "no COMPLETE since " + last + " > " + humanDuration(*spec_.max_age)
                             : "no COMPLETE run of " + spec_.job + " seen yet");
    }
    if (!spec_.schedule) return;
    auto expected = previousRun(*spec_.schedule, now - spec_.grace, *spec_.tz);
    if (expected && (!last_complete || *last_complete < *expected)) {
      problems.push_back("no COMPLETE since the run scheduled at " + formatRfc3339(*expected) +
                         " (grace " + humanDuration(spec_.grace) + ")" +
                         (last_complete ? "; last " + last : ""));
    }
  }

  std::string passMessage(TimePoint now, const std::optional<lineage::JobView>& job) const {
    if (!job || !job->last_run) return "no run of " + spec_.job + " seen; none required yet";
    const auto& run = *job->last_run;
    if (!run.ended())
      return "running since " + formatRfc3339(run.started_at.value_or(run.last_event)) +
             (job->last_complete
                  ? "; last COMPLETE " + humanDuration(since(now, *job->last_complete)) + " ago"
                  : "");
    return "last run COMPLETE at " + formatRfc3339(run.ended_at.value_or(run.last_event)) + " (" +
           humanDuration(since(now, run.ended_at.value_or(run.last_event))) + " ago)";
  }

  nlohmann::json threshold(TimePoint now) const {
    nlohmann::json t = nlohmann::json::object();
    if (spec_.max_age) t["max"] = std::chrono::duration<double>(*spec_.max_age).count();
    if (spec_.max_duration)
      t["max_duration"] = std::chrono::duration<double>(*spec_.max_duration).count();
    if (spec_.schedule) {
      t["schedule"] = spec_.schedule->text();
      t["grace"] = formatDuration(spec_.grace);
      if (auto e = previousRun(*spec_.schedule, now - spec_.grace, *spec_.tz))
        t["expected_after"] = formatRfc3339(*e);
    }
    return t;
  }

  static std::string join(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
    return out;
  }

  config::ProbeConfig cfg_;
  const config::JobSpec& spec_;
  const lineage::LineageGraph& graph_;
};

nlohmann::json writeDetails(const config::ProbeConfig& cfg, const lineage::DatasetView& d) {
  nlohmann::json j = {{"dataset", cfg.dataset}};
  if (!d.last_writer.empty()) {
    j["written_by"] = d.last_writer;
    j["run_id"] = d.last_writer_run;
  }
  return j;
}

class DatasetFreshnessProbe final : public Probe {
 public:
  DatasetFreshnessProbe(config::ProbeConfig cfg, const lineage::LineageGraph& graph)
      : cfg_(std::move(cfg)), spec_(std::get<config::FreshnessSpec>(cfg_.spec)), graph_(graph) {}
  const config::ProbeConfig& config() const override { return cfg_; }

  ProbeResult run(const RunContext& ctx) override {
    if (auto err = incomplete(graph_)) return *err;
    const auto d = graph_.dataset(cfg_.dataset);
    if (!d || !d->last_written) {
      auto r = ProbeResult::fail(std::nullopt, "seconds",
                                 "no COMPLETE run has written " + cfg_.dataset + " yet");
      r.threshold = freshnessThreshold(spec_, ctx.now);
      r.details = {{"dataset", cfg_.dataset}};
      return r;
    }
    // A run whose clock runs ahead of the agent's wrote "now".
    return judgeNewest(spec_, ctx.now, std::min(*d->last_written, ctx.now), writeDetails(cfg_, *d),
                       "written");
  }

 private:
  config::ProbeConfig cfg_;
  const config::FreshnessSpec& spec_;
  const lineage::LineageGraph& graph_;
};

class DatasetVolumeProbe final : public Probe {
 public:
  DatasetVolumeProbe(config::ProbeConfig cfg, const lineage::LineageGraph& graph)
      : cfg_(std::move(cfg)), graph_(graph), judge_(cfg_, "rows", false) {}
  const config::ProbeConfig& config() const override { return cfg_; }

  ProbeResult run(const RunContext& ctx) override {
    if (auto err = incomplete(graph_)) return *err;
    const auto d = graph_.dataset(cfg_.dataset);
    if (!d || !d->last_written)
      return ProbeResult::error("no COMPLETE run has written " + cfg_.dataset + " yet");
    if (!d->row_count)
      return ProbeResult::error("the last write of " + cfg_.dataset + " (" + d->last_writer +
                                ", runId " + d->last_writer_run +
                                ") sent no outputStatistics.rowCount");
    const double rows = static_cast<double>(*d->row_count);
    if (d->last_writer_run != write_run_) {  // a new write: the one before is the baseline
      before_ = write_rows_;
      before_at_ = write_at_;
      write_run_ = d->last_writer_run;
      write_rows_ = rows;
      write_at_ = *d->last_written;
    }
    auto details = writeDetails(cfg_, *d);
    details["written_at"] = formatRfc3339(*d->last_written);
    // max_change compares writes, not probe runs (several runs see one write).
    RunContext by_write = ctx;
    ProbeResult previous_write;
    if (before_) {
      previous_write = ProbeResult::pass(*before_, "rows", "");
      previous_write.observed_at = before_at_;
      by_write.previous = &previous_write;
    } else {
      by_write.previous = nullptr;
    }
    return judge_.judge(by_write, rows, std::move(details));
  }

 private:
  config::ProbeConfig cfg_;
  const lineage::LineageGraph& graph_;
  VolumeJudge judge_;  // after cfg_, which it reads
  // The write seen last and the row count of the one before it (in memory: a
  // restart compares from the next write on).
  std::string write_run_;
  std::optional<double> write_rows_;
  TimePoint write_at_{};
  std::optional<double> before_;
  TimePoint before_at_{};
};

}  // namespace

std::unique_ptr<Probe> makeLineageProbe(const config::ProbeConfig& cfg,
                                        const lineage::LineageGraph& graph) {
  if (cfg.type == config::ProbeType::Job) return std::make_unique<JobProbe>(cfg, graph);
  if (cfg.type == config::ProbeType::Freshness && !cfg.dataset.empty())
    return std::make_unique<DatasetFreshnessProbe>(cfg, graph);
  if (cfg.type == config::ProbeType::Volume && !cfg.dataset.empty())
    return std::make_unique<DatasetVolumeProbe>(cfg, graph);
  return std::make_unique<ErrorProbe>(
      cfg, std::string(toString(cfg.type)) + " probes cannot be fed by OpenLineage events");
}

}  // namespace datawatch
