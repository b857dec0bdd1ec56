#include "store/batched_state_store.hpp"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <utility>

#include "core/thread_name.hpp"

namespace datawatch {

BatchedStateStore::BatchedStateStore(std::unique_ptr<StateStore> inner, Options options)
    : inner_(std::move(inner)),
      flush_interval_(std::max(options.flush_interval, Duration{1})),
      max_batch_(std::max<size_t>(options.max_batch, 1)),
      max_queued_(std::max<size_t>(options.max_queued, 1)),
      poison_budget_(options.poison_budget),
      on_error_(std::move(options.on_error)) {
  writer_ = startNamedThread("dw-store-write", [this] { writerLoop(); });
}

BatchedStateStore::~BatchedStateStore() {
  close();  // after a closeWithin that ran out of time: waits for the writer
}

Status BatchedStateStore::recordRun(const ProbeResult& result) {
  const SharedRun copy = std::make_shared<const ProbeResult>(result);  // before taking mu_
  return enqueue(&copy, 1);
}

Status BatchedStateStore::recordSharedRun(const SharedRun& run) {
  return enqueue(&run, 1);
}

Status BatchedStateStore::recordSharedRuns(const std::vector<SharedRun>& runs) {
  return enqueue(runs.data(), runs.size());
}

Status BatchedStateStore::enqueue(const SharedRun* runs, size_t n) {
  for (size_t i = 0; i < n; ++i) assert(runs[i] != nullptr);  // dereferenced on the writer
  bool wake = false;
  bool closed = false;
  {
    MutexLock lock(mu_);
    for (size_t i = 0; i < n; ++i) {
      if (queue_.size() >= max_queued_) {
        queue_.pop_front();
        ++unreported_drops_;
        ++dropped_;
      }
      queue_.push_back(runs[i]);
    }
    closed = closed_;
    if (!closed && !failing_ && !kicked_ && queue_.size() >= max_batch_) wake = kicked_ = true;
  }
  if (closed) return flush();  // after close(): synchronous
  if (wake) wake_.notifyOne();
  return Status::Ok();
}

Status BatchedStateStore::flush() {
  MutexLock flush_lock(flush_mu_);
  size_t remaining = 0;
  {
    MutexLock lock(mu_);
    remaining = queue_.size();
  }
  // The runs queued at the call, in transactions of at most max_batch_; runs
  // queued meanwhile may ride along, never more than `remaining` in all.
  Status result = Status::Ok();
  while (remaining > 0) {
    std::vector<SharedRun> batch;
    {
      MutexLock lock(mu_);
      const size_t n = std::min({remaining, max_batch_, queue_.size()});
      batch.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      in_flight_ = batch.size();
    }
    if (batch.empty()) break;  // the queue bound dropped them meanwhile
    remaining -= batch.size();
    const Status st = commit(batch);
    if (st) {
      MutexLock lock(mu_);
      in_flight_ = 0;
    } else {
      requeueFront(batch);  // and in_flight_ = 0 under the same lock
      report(st.message(), 0);
      result = st;
      break;
    }
  }
  uint64_t drops = 0;
  {
    MutexLock lock(mu_);
    failing_ = !result.ok();
    drops = std::exchange(unreported_drops_, 0);
  }
  if (drops > 0) {
    report("state store: " + std::to_string(drops) + " queued probe runs dropped (more than " +
               std::to_string(max_queued_) + " waiting for the store)",
           drops);
  }
  return result;
}

Status BatchedStateStore::commit(std::vector<SharedRun>& batch) {
  using Steady = std::chrono::steady_clock;
  const auto t0 = Steady::now();
  Status st = inner_->recordSharedRuns(batch);
  const bool slow = Steady::now() - t0 >= poison_budget_;
  if (st.ok() || slow || !inner_->ping().ok()) {
    if (st.ok()) batch.clear();
    return st;  // stored; or a lock, a timeout, the store down: all kept
  }
  // The store answers and refused the batch at once: find the runs it rejects,
  // within the budget (runs not tried are kept, in order).
  std::vector<SharedRun> rejected, untried;
  Status first_error = Status::Ok();
  bool accepted_any = false;
  const auto t1 = Steady::now();
  for (auto& r : batch) {
    if (Steady::now() - t1 >= poison_budget_) {
      untried.push_back(std::move(r));
      continue;
    }
    Status one = inner_->recordRun(*r);
    if (one.ok()) {
      accepted_any = true;
      continue;
    }
    if (first_error.ok()) first_error = Status::Error(one.message() + " (probe " + r->probe + ")");
    rejected.push_back(std::move(r));
  }
  batch = std::move(rejected);
  if (!untried.empty()) {
    // Out of time: nothing is judged poison on a slow pass; all kept in order.
    batch.insert(batch.end(), std::make_move_iterator(untried.begin()),
                 std::make_move_iterator(untried.end()));
    return first_error.ok() ? Status::Error("probe runs not stored yet (slow store)") : first_error;
  }
  if (batch.empty()) return Status::Ok();
  // Every run refused (read-only, disk full), or the store went down: kept.
  if (!accepted_any || !inner_->ping().ok()) return first_error;
  {
    MutexLock lock(mu_);
    dropped_ += batch.size();
  }
  report(first_error.message() + ": " + std::to_string(batch.size()) +
             " probe run(s) the store rejects dropped",
         batch.size());
  batch.clear();
  return Status::Ok();
}

void BatchedStateStore::requeueFront(std::vector<SharedRun>& batch) {
  MutexLock lock(mu_);
  in_flight_ = 0;
  queue_.insert(queue_.begin(), std::make_move_iterator(batch.begin()),
                std::make_move_iterator(batch.end()));
  batch.clear();
  while (queue_.size() > max_queued_) {
    queue_.pop_front();
    ++unreported_drops_;
    ++dropped_;
  }
}

void BatchedStateStore::report(const std::string& error, size_t dropped) {
  if (on_error_) on_error_(error, dropped);
}

void BatchedStateStore::writerLoop() {
  MutexLock lock(mu_);
  while (!stopping_) {
    wake_.waitFor(lock, flush_interval_, [&]() REQUIRES(mu_) { return stopping_ || kicked_; });
    if (stopping_) break;
    kicked_ = false;
    lock.unlock();
    (void)flush();  // failures reported through on_error_
    lock.lock();
  }
  // close(): the last flush, here, so that closeWithin can stop waiting for it.
  lock.unlock();
  (void)flush();
  lock.lock();
  writer_done_ = true;
  done_.notifyAll();
}

void BatchedStateStore::close() {
  (void)closeWithin(Duration::max());
}

bool BatchedStateStore::closeWithin(Duration budget) {
  bool first = false;
  {
    MutexLock lock(mu_);
    first = !closed_;
    closed_ = stopping_ = true;
  }
  if (first) wake_.notifyAll();
  {
    MutexLock lock(mu_);
    const auto done = [&]() REQUIRES(mu_) { return writer_done_; };
    if (budget == Duration::max()) {
      done_.wait(lock, done);
    } else if (!done_.waitFor(lock, budget, done)) {
      return false;  // the writer is in the database still
    }
  }
  finishClose();
  return true;
}

void BatchedStateStore::finishClose() {
  MutexLock flush_lock(flush_mu_);  // one caller joins; later ones find it done
  if (finished_) return;
  finished_ = true;
  writer_.join();  // it has ended its last flush (writer_done_)
  size_t lost = 0;
  {  // the writer's last flush failed: no writer any more, what is queued is lost
    MutexLock lock(mu_);
    lost = queue_.size();
    queue_.clear();
    dropped_ += lost;
  }
  if (lost > 0) {
    report("state store: " + std::to_string(lost) +
               " probe runs could not be written before the store closed",
           lost);
  }
  on_error_ = nullptr;  // never called after close() returns
}

size_t BatchedStateStore::pending() const {
  MutexLock lock(mu_);
  return queue_.size();
}

size_t BatchedStateStore::unwritten() const {
  MutexLock lock(mu_);
  return queue_.size() + in_flight_;
}

uint64_t BatchedStateStore::droppedRuns() const {
  MutexLock lock(mu_);
  return dropped_;
}

// ---- delegation: flush first (the header's order and read-your-writes rules)

namespace {
// fn() once the queued runs are stored; the flush's error otherwise.
template <class Fn>
auto afterFlush(BatchedStateStore& store, Fn fn) -> decltype(fn()) {
  if (Status flushed = store.flush(); !flushed) return flushed;
  return fn();
}
}  // namespace

Result<std::optional<ProbeResult>> BatchedStateStore::lastRun(const std::string& probe) {
  return afterFlush(*this, [&] { return inner_->lastRun(probe); });
}

Result<std::optional<ProbeResult>> BatchedStateStore::lastMeasuredRun(const std::string& probe) {
  return afterFlush(*this, [&] { return inner_->lastMeasuredRun(probe); });
}

Result<std::vector<ProbeResult>> BatchedStateStore::runs(const std::string& probe, TimePoint from,
                                                         TimePoint to, size_t limit) {
  return afterFlush(*this, [&] { return inner_->runs(probe, from, to, limit); });
}

Result<std::vector<ProbeResult>> BatchedStateStore::latestRuns(const std::string& probe,
                                                               TimePoint from, TimePoint to,
                                                               size_t limit) {
  return afterFlush(*this, [&] { return inner_->latestRuns(probe, from, to, limit); });
}

Result<int64_t> BatchedStateStore::countRuns() {
  return afterFlush(*this, [&] { return inner_->countRuns(); });
}

Result<int64_t> BatchedStateStore::pruneBefore(TimePoint cutoff) {
  return afterFlush(*this, [&] { return inner_->pruneBefore(cutoff); });
}

Status BatchedStateStore::commitAlerts(const std::string& key, const nlohmann::json& value,
                                       const std::vector<OutboxItem>& items,
                                       const std::vector<nlohmann::json>& incidents) {
  return afterFlush(*this, [&] { return inner_->commitAlerts(key, value, items, incidents); });
}

// The outbox: delegated without a flush (the header's exceptions). Each notifier
// reads it every second; flushing there made the writer commit once a second per
// notifier whatever run_flush_interval said, and stopped deliveries while run
// writes failed.
Result<std::vector<OutboxItem>> BatchedStateStore::dueNotifications(const std::string& notifier,
                                                                    TimePoint due, size_t limit) {
  return inner_->dueNotifications(notifier, due, limit);
}

Result<std::optional<TimePoint>> BatchedStateStore::nextNotificationAt(
    const std::string& notifier) {
  return inner_->nextNotificationAt(notifier);
}

Status BatchedStateStore::removeNotification(int64_t seq) {
  return inner_->removeNotification(seq);
}

Status BatchedStateStore::rescheduleNotification(int64_t seq, int attempts, TimePoint next_attempt,
                                                 const std::string& error) {
  return inner_->rescheduleNotification(seq, attempts, next_attempt, error);
}

Result<int64_t> BatchedStateStore::countNotifications() {
  return inner_->countNotifications();
}

Result<std::vector<std::string>> BatchedStateStore::queuedNotifiers() {
  return inner_->queuedNotifiers();
}

Status BatchedStateStore::saveIncident(const nlohmann::json& doc) {
  return afterFlush(*this, [&] { return inner_->saveIncident(doc); });
}

Result<std::vector<nlohmann::json>> BatchedStateStore::loadIncidents(bool open_only, size_t limit) {
  return afterFlush(*this, [&] { return inner_->loadIncidents(open_only, limit); });
}

Result<std::optional<nlohmann::json>> BatchedStateStore::loadIncident(const std::string& id) {
  return afterFlush(*this, [&] { return inner_->loadIncident(id); });
}

Result<int> BatchedStateStore::nextIncidentSeq(const std::string& day) {
  return afterFlush(*this, [&] { return inner_->nextIncidentSeq(day); });
}

Result<RunFeedPage> BatchedStateStore::runFeed(const std::string& cursor, size_t limit) {
  return afterFlush(*this, [&] { return inner_->runFeed(cursor, limit); });
}

Status BatchedStateStore::ping() {
  return afterFlush(*this, [&] { return inner_->ping(); });
}

void BatchedStateStore::fence(std::optional<int64_t> epoch) {
  (void)flush();  // a failure is reported; the fence applies regardless
  inner_->fence(epoch);
}

Result<std::optional<nlohmann::json>> BatchedStateStore::loadSnapshot(const std::string& key) {
  return inner_->loadSnapshot(key);
}

Status BatchedStateStore::saveSnapshot(const std::string& key, const nlohmann::json& value) {
  return inner_->saveSnapshot(key, value);
}

Result<bool> BatchedStateStore::saveLineageEvent(const std::string& key, TimePoint event_time,
                                                 const nlohmann::json& event) {
  return inner_->saveLineageEvent(key, event_time, event);
}

Result<std::vector<LineageRow>> BatchedStateStore::lineageEventsAfter(int64_t after, size_t limit) {
  return inner_->lineageEventsAfter(after, limit);
}

Result<int64_t> BatchedStateStore::pruneLineageBefore(TimePoint cutoff) {
  return inner_->pruneLineageBefore(cutoff);
}

}  // namespace datawatch
