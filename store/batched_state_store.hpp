#pragma once
// BatchedStateStore: a StateStore that writes probe runs in batches (issue 19).
// It owns another store (`inner`: SQLite or PostgreSQL) and delegates to it.
//
// The durability contract (read this before changing the agent's write paths):
// - recordRun / recordSharedRun(s) only QUEUE the runs (under mu_: the shared
//   pointer, or a copy made before of a run passed by reference; a shared run
//   must not be null nor changed after the call) and return Ok; they never
//   wait for the database. A writer thread commits the queue with
//   inner->recordSharedRuns (one transaction per at most max_batch runs) every
//   flush_interval, or as soon as max_batch runs are queued (it is woken then),
//   whichever comes first.
// - Order and read-your-writes: EVERY other method first flushes the queue
//   synchronously on the caller's thread (waiting for a batch the writer has in
//   flight), then delegates; when that flush fails, the method returns its error
//   without delegating. So the runs recorded before an alert transition, an
//   outbox item or an incident are durable before it (commitAlerts and the
//   outbox stay synchronous and strictly after the runs that caused them), and
//   a read never misses a run recorded before the call. Exceptions, delegated
//   without flushing: loadSnapshot / saveSnapshot (probe snapshots, not runs),
//   the lineage events (saveLineageEvent, lineageEventsAfter, pruneLineageBefore:
//   not runs either, so an HTTP ingest never waits for a batch), the outbox's
//   reads and updates (dueNotifications, nextNotificationAt, removeNotification,
//   rescheduleNotification, countNotifications, queuedNotifiers: an item only
//   exists after commitAlerts, which flushed the runs before it; each notifier
//   polls every second, which would otherwise commit the runs as often), describe(),
//   and fence() (it flushes but always delegates: a fence change must never be
//   lost to a failing flush).
// - Durability: a crash (kill -9) loses at most the runs queued in the last
//   flush_interval (more while the store is failing: the queue), never an alert,
//   an outbox item or an incident. close() (and the destructor) has the writer
//   flush everything and joins it; runs still unwritable then are reported
//   dropped. After close() writes are synchronous: recordRun (and recordSharedRun(s)) queues,
//   flushes at once and returns the flush's Status. closeWithin(budget) is close() bounded in time
//   (the agent's stop must end within 10 s even when the database hangs): false when that last
//   flush has not ended within the budget; the writer then goes on, and the store must outlive it
//   (the destructor joins it; the agent exits at once instead).
// - Failures: a batch that fails stays at the FRONT of the queue (order kept)
//   and is retried on the next tick. When the batch failed fast (within
//   poison_budget: a data error, not a lock or a timeout) and inner->ping()
//   answers, it is retried run by run, within poison_budget: a run the store rejects while it
//   accepts others of the batch (a poison row) is dropped and reported; when it rejects every run
//   (a read-only standby, a full disk: reads work, writes fail) nothing is dropped. The queue is
//   bounded (max_queued): beyond it the OLDEST runs are dropped, counted, and reported by the next
//   flush. Every failure goes to on_error (error, runs dropped by it; 0: kept for a retry), called
//   without mu_ held, on the writer or a flushing caller's thread, never after close() returns; it
//   must not call this store. Inner messages are already redacted. A commit whose outcome is
//   unknown (the connection broke during COMMIT) is retried: those runs may be stored twice (as
//   with an unbatched recordRun).
// - Threading: mu_ guards the queue and the writer's flags (held only to
//   push, pop or swap: never during a database call). flush_mu_ serialises
//   flushes: held for the whole of a flush (across inner->recordSharedRuns), so two
//   flushes never reorder batches. Lock order: flush_mu_ before mu_.
//   Thread-safe like every StateStore.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <thread>

#include "core/clock.hpp"
#include "core/mutex.hpp"
#include "store/state_store.hpp"

namespace datawatch {

struct BatchedStateStoreOptions {
  // The agent sets it from agent.run_flush_interval (config::runFlushInterval).
  Duration flush_interval = std::chrono::milliseconds(100);
  size_t max_batch = 256;     // runs per transaction, and the early-flush trigger
  size_t max_queued = 65536;  // beyond it the oldest queued runs are dropped
  // A failure slower than this is transient (a lock, a timeout, an unreachable
  // host), never a poison row: the batch is kept whole, no run-by-run pass. It
  // also bounds that pass: runs it had no time to try are kept.
  Duration poison_budget = std::chrono::seconds(1);
  std::function<void(const std::string& error, size_t runs_dropped)> on_error;
};

class BatchedStateStore final : public StateStore {
 public:
  using Options = BatchedStateStoreOptions;
  // Starts the writer thread. `inner` must not be null.
  explicit BatchedStateStore(std::unique_ptr<StateStore> inner, Options options = {});
  ~BatchedStateStore() override;  // close()
  BatchedStateStore(const BatchedStateStore&) = delete;
  BatchedStateStore& operator=(const BatchedStateStore&) = delete;

  Status recordRun(const ProbeResult& result) override;   // queues a copy
  Status recordSharedRun(const SharedRun& run) override;  // queues the pointer
  Status recordSharedRuns(const std::vector<SharedRun>& runs) override;
  // Commits every run queued when it is called; the failure (runs kept queued) if any.
  Status flush() override EXCLUDES(flush_mu_, mu_);
  void close() override EXCLUDES(flush_mu_, mu_);
  // close() within `budget` (see the contract above); true when it completed.
  bool closeWithin(Duration budget) EXCLUDES(flush_mu_, mu_);

  Result<std::optional<ProbeResult>> lastRun(const std::string& probe) override;
  Result<std::optional<ProbeResult>> lastMeasuredRun(const std::string& probe) override;
  Result<std::vector<ProbeResult>> runs(const std::string& probe, TimePoint from, TimePoint to,
                                        size_t limit = 100000) override;
  Result<std::vector<ProbeResult>> latestRuns(const std::string& probe, TimePoint from,
                                              TimePoint to, size_t limit) override;
  Result<int64_t> countRuns() override;
  Result<int64_t> pruneBefore(TimePoint cutoff) override;
  Status commitAlerts(const std::string& key, const nlohmann::json& value,
                      const std::vector<OutboxItem>& items,
                      const std::vector<nlohmann::json>& incidents = {}) override;
  Result<std::vector<OutboxItem>> dueNotifications(const std::string& notifier, TimePoint due,
                                                   size_t limit) override;
  Result<std::optional<TimePoint>> nextNotificationAt(const std::string& notifier) override;
  Status removeNotification(int64_t seq) override;
  Status rescheduleNotification(int64_t seq, int attempts, TimePoint next_attempt,
                                const std::string& error) override;
  Result<int64_t> countNotifications() override;
  Result<std::vector<std::string>> queuedNotifiers() override;
  Status saveIncident(const nlohmann::json& doc) override;
  Result<std::vector<nlohmann::json>> loadIncidents(bool open_only, size_t limit) override;
  Result<std::optional<nlohmann::json>> loadIncident(const std::string& id) override;
  Result<int> nextIncidentSeq(const std::string& day) override;
  Result<RunFeedPage> runFeed(const std::string& cursor, size_t limit) override;
  void fence(std::optional<int64_t> epoch) override;
  Status ping() override;
  // Not flushed: snapshots are not runs.
  Result<std::optional<nlohmann::json>> loadSnapshot(const std::string& key) override;
  Status saveSnapshot(const std::string& key, const nlohmann::json& value) override;
  // Not flushed: lineage events are not runs.
  Result<bool> saveLineageEvent(const std::string& key, TimePoint event_time,
                                const nlohmann::json& event) override;
  Result<std::vector<LineageRow>> lineageEventsAfter(int64_t after, size_t limit) override;
  Result<int64_t> pruneLineageBefore(TimePoint cutoff) override;
  std::string describe() const override { return inner_->describe(); }

  // Runs queued and not yet handed to the inner store.
  size_t pending() const EXCLUDES(mu_);
  // Runs possibly not written: queued, or in a batch the inner store has not
  // answered (a COMMIT sent may yet have stored them).
  size_t unwritten() const EXCLUDES(mu_);
  // Runs dropped so far (queue bound, poison rows, unwritable at close).
  uint64_t droppedRuns() const EXCLUDES(mu_);

 private:
  // Queues runs[0..n); synchronous after close().
  Status enqueue(const SharedRun* runs, size_t n) EXCLUDES(flush_mu_, mu_);
  void writerLoop() EXCLUDES(flush_mu_, mu_);
  // Commits `batch` (run by run when the store answers but refuses the batch);
  // leaves in `batch` the runs kept for a retry.
  Status commit(std::vector<SharedRun>& batch) REQUIRES(flush_mu_) EXCLUDES(mu_);
  void requeueFront(std::vector<SharedRun>& batch) EXCLUDES(mu_);
  // The end of close, once the writer has ended: joins it, counts what is
  // still queued as lost, forgets on_error. Once; later calls return.
  void finishClose() EXCLUDES(flush_mu_, mu_);
  void report(const std::string& error, size_t dropped) REQUIRES(flush_mu_) EXCLUDES(mu_);

  const std::unique_ptr<StateStore> inner_;
  const Duration flush_interval_;
  const size_t max_batch_;
  const size_t max_queued_;
  const Duration poison_budget_;

  Mutex flush_mu_ ACQUIRED_BEFORE(mu_);
  std::function<void(const std::string&, size_t)> on_error_ GUARDED_BY(flush_mu_);
  bool finished_ GUARDED_BY(flush_mu_) = false;  // finishClose() ran

  mutable Mutex mu_;
  CondVar wake_;  // the writer: max_batch runs queued, or close()
  CondVar done_;  // close(): the writer's last flush ended
  std::deque<SharedRun> queue_ GUARDED_BY(mu_);
  size_t in_flight_ GUARDED_BY(mu_) = 0;  // runs of the batch being committed
  bool writer_done_ GUARDED_BY(mu_) = false;
  bool kicked_ GUARDED_BY(mu_) = false;            // max_batch reached: flush before the tick
  bool failing_ GUARDED_BY(mu_) = false;           // the last flush failed: no early flush
  bool stopping_ GUARDED_BY(mu_) = false;          // the writer exits
  bool closed_ GUARDED_BY(mu_) = false;            // close() was called: writes are synchronous
  uint64_t unreported_drops_ GUARDED_BY(mu_) = 0;  // by the queue bound
  uint64_t dropped_ GUARDED_BY(mu_) = 0;
  std::thread writer_;
};

}  // namespace datawatch
