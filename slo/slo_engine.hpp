#pragma once
// The SLO engine (SPEC §4): probe runs in, per-SLO error ratios, burn rates,
// error budget and breaching severities out.
//
// SloState is one SLO. Its SLI:
// - occurrences: each counted run of its probes is one event, bad unless it passed;
// - timeslices: each whole minute is one event, good when the latest counted
//   result of every probe at the end of that minute passed.
// A run that errored is bad under `errors: bad` and not counted under
// `errors: ignore`.
//
// No data: a probe's latest counted result is current for staleAfter(every) —
// one missed run is tolerated, two are a gap. A minute in which some probe of the
// SLO has no current result is a no-data minute: never a good event (timeslices
// count no event for it) and reported per window and as gaps. Coverage starts
// at the SLO's first counted run.
//
// Windows (event_window.hpp): the window W at `now` holds the events observed in
// (now - W, now] — exactly the last W. A timeslice event is stamped at the start
// of its minute and recorded once the minute has ended, so a W window holds the
// W/1m - 1 minutes that ended in it (5 minutes: the 4 before the current one).
// They live in one RingSet of four tiers: windows up to 1h (5m, 30m, 1h by
// default) in 1-minute buckets, up to 6h (2h, 6h) in 5-minute buckets, up to 3d
// (1d, 3d) in 30-minute buckets, longer ones (the SLO window) in 168 buckets (4
// hours at 28 days). The one bucket straddling now - W counts only its events
// after now - W, its good and its bad events each taken as evenly spaced between
// their first and last: exact for a steady cadence, a single event or a run of
// failures, otherwise off by less than that bucket's events. O(1) work per event
// and per window; about 13 KB per SLO with the default table (462 buckets of 28
// bytes), whatever the event count.
//
// Rows (burn_rate.hpp): the rows in force widen a short window shorter than two
// intervals of the slowest probe (2 minutes for timeslices), so that it always
// holds the latest event.
//
// Invariants of evaluate():
// - No data never resolves: a row whose long or short window holds no event
//   keeps its previous breaching state (false before its first evaluation with
//   data). A severity breaches while any of its rows does, so an alert built on
//   the severities only resolves on evidence: both windows of every row of the
//   severity holding events and none of them breaching.
// - A row breaches when both windows burn above its threshold and the long one
//   holds at least min_bad_events bad events.
//
// Replay (SloEngine::configure): the newest runs of the SLO window, at most a
// bound per probe, fed in time order — so a bound cuts the oldest history, never
// the newest.
//
// SloState is not thread-safe; SloEngine (below) is.

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/types.hpp"
#include "core/mutex.hpp"
#include "core/result.hpp"
#include "probes/result.hpp"
#include "slo/burn_rate.hpp"
#include "slo/event_window.hpp"

namespace datawatch {

class StateStore;

struct WindowStatus {
  Duration window;
  EventCounts counts;  // counts.no_data is in minutes
  double error_ratio = 0;
  double burn_rate = 0;
};

struct RowStatus {
  BurnRow row;
  double long_burn_rate = 0;
  double short_burn_rate = 0;
  uint64_t long_bad_events = 0;
  bool breaching = false;
  bool no_data = false;  // a window held no event: `breaching` is the state held from before
};

struct DataGap {
  TimePoint from;  // first minute without data
  TimePoint to;    // first minute with data again
};

struct SloStatus {
  std::string name;
  double objective = 0;  // ratio, 0.995
  Duration window{};
  config::Budgeting budgeting = config::Budgeting::Occurrences;
  std::vector<WindowStatus> windows;  // the alert windows, shortest first, then the SLO window
  std::vector<RowStatus> rows;        // the burn-rate rows in force
  // The bad events the SLO window allows: (1 - objective) × its events, where the
  // events are at least those the probes' cadence plans for a full window (so a
  // young SLO spends the month's budget, not a fraction of its first day's).
  double error_budget_events = 0;
  double error_budget_remaining = 1;    // 1 - bad / error_budget_events: 1 untouched, < 0 overspent
  std::set<std::string> breaching;      // severities with a breaching row
  std::optional<TimePoint> data_since;  // coverage start; nullopt: no counted run yet
  std::optional<TimePoint> no_data_since;  // set while a gap is open
  std::vector<DataGap> recent_gaps;        // closed gaps, oldest first, at most 10
  uint64_t events_total = 0;      // live events since this state was created (not replayed)
  uint64_t bad_events_total = 0;  // of them bad

  const WindowStatus& sloWindow() const { return windows.back(); }
  const WindowStatus* find(Duration w) const;
};

// The status as the HTTP API and `check --format json` show it.
nlohmann::json toJson(const SloStatus& st);

// A probe of an SLO, with the cadence that decides when its result goes stale.
struct SloProbe {
  std::string name;
  Duration every{};
};

class SloState {
 public:
  SloState(const config::SloConfig& cfg, std::vector<SloProbe> probes);

  // One run of one of the SLO's probes (others are ignored). Runs should arrive
  // in time order; a late run still counts as an occurrence inside the windows.
  // `replay`: rebuilding from the state store — not added to the live totals.
  void record(const ProbeResult& run, bool replay = false);
  // One event, bypassing the probes (occurrences; tests and benchmarks).
  void recordEvent(TimePoint at, bool bad);
  // Closes the minutes before `now` and evaluates every window and row.
  SloStatus evaluate(TimePoint now);
  // The same into `out`, reusing its buffers (no allocation in the steady state).
  void evaluate(TimePoint now, SloStatus& out);

  const config::SloConfig& config() const { return cfg_; }
  const std::vector<BurnRow>& rows() const { return rows_; }

  // Events a full SLO window holds at the probes' cadence: window / 1m for
  // timeslices, the sum of window / every over the probes for occurrences.
  double plannedEvents() const;

  // How long a result counts as current: twice the probe's interval, at least 2 min.
  static Duration staleAfter(Duration every);

 private:
  struct Track {
    SloProbe probe;
    Duration stale_after;
    std::optional<TimePoint> last_at;  // newest counted run
    bool last_bad = false;
  };
  void closeUntil(TimePoint t, bool replay);
  void evaluateRows(SloStatus& st);
  void closeMinute(TimePoint m, bool replay);
  void addEvent(TimePoint at, bool bad, bool replay);

  config::SloConfig cfg_;
  double objective_;
  std::vector<BurnRow> rows_;
  std::vector<bool> row_breaching_;  // per row: the state held through no data
  RingSet rings_;  // windows ascending: the alert windows, then the SLO window (the longest)
  std::vector<Track> tracks_;
  std::optional<TimePoint> cursor_;  // the first minute not yet closed
  std::optional<TimePoint> data_since_;
  std::optional<TimePoint> gap_start_;
  std::vector<DataGap> gaps_;  // oldest first, at most 10
  uint64_t events_ = 0;
  uint64_t bad_events_ = 0;
};

// Every SLO of a configuration. Thread-safe.
class SloEngine {
 public:
  struct RebuildStats {
    size_t slos = 0;  // SLOs rebuilt from the store
    size_t kept = 0;  // SLOs whose state survived a reload unchanged
    size_t runs = 0;  // probe runs replayed
    std::vector<std::string> errors;
  };

  // Takes the SLOs of `cfg`. An SLO whose definition (and its probes' cadence) is
  // unchanged since the last configure keeps its state; every other one starts
  // empty and, with a store, replays its probes' runs of the last SLO window up to
  // `now` — so a restart or reload neither resets budgets nor flips alerts.
  RebuildStats configure(const config::Config& cfg, StateStore* store, TimePoint now);

  void record(const ProbeResult& run);
  std::vector<SloStatus> evaluate(TimePoint now);
  // Every SLO into `out` (resized to the SLO count), reusing its buffers.
  void evaluate(TimePoint now, std::vector<SloStatus>& out);
  size_t size() const;

 private:
  struct Entry {
    std::string fingerprint;
    std::unique_ptr<SloState> state;
  };
  mutable Mutex mu_;
  std::map<std::string, Entry> slos_ GUARDED_BY(mu_);
  std::map<std::string, std::vector<SloState*>> by_probe_ GUARDED_BY(mu_);
};

}  // namespace datawatch
