#include "alerting/outbox.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/thread_name.hpp"

namespace datawatch {
namespace {
// Workers poll at least this often (new items also wake them).
constexpr Duration kMaxIdle = std::chrono::seconds(1);
// Sends failing in a row before the whole queue pauses (the receiver is down).
constexpr int kTripAfter = 3;
// Retry-After is honoured up to this.
constexpr Duration kMaxRetryAfter = std::chrono::hours(1);

// A repeat (or a change) of a firing its receiver already has.
bool isRepeat(const nlohmann::json& payload) {
  const auto a = payload.find("alert");
  if (a == payload.end() || !a->is_object()) return false;
  const auto r = a->find("repeat");
  return r != a->end() && r->is_boolean() && r->get<bool>();
}
}  // namespace

void NotifierQueue::report(const Status& st) {
  if (!st && observer_) observer_->storeError(st.message());
}

Duration RetryPolicy::delay(int attempts, std::mt19937_64& rng) const {
  const int exp = std::clamp(attempts - 1, 0, 30);
  const double base = std::min<double>(static_cast<double>(max.count()),
                                       static_cast<double>(initial.count()) * std::pow(2.0, exp));
  std::uniform_real_distribution<double> spread(1.0 - jitter, 1.0 + jitter);
  return Duration{static_cast<int64_t>(base * spread(rng))};
}

NotifierQueue::NotifierQueue(std::string name, std::unique_ptr<Notifier> notifier,
                             StateStore& store, const Clock& clock, DeliveryObserver* observer,
                             RetryPolicy policy, SendGate gate)
    : name_(std::move(name)),
      notifier_(std::move(notifier)),
      store_(store),
      clock_(clock),
      observer_(observer),
      policy_(policy),
      rng_(std::random_device{}()),
      gate_(std::move(gate)) {}

NotifierQueue::Pumped NotifierQueue::pump() {
  Pumped out;
  const TimePoint start = clock_.now();
  if (start < paused_until_) {
    out.next = paused_until_;
    return out;
  }
  // Bounded, so a flood cannot starve the caller's stop checks.
  for (int batches = 0; batches < 1000; ++batches) {
    const TimePoint now = clock_.now();
    auto first = store_.dueNotifications(name_, now, 1);
    if (!first) {
      report(first.status());
      out.next = now + kMaxIdle;
      return out;
    }
    if (first->empty()) break;
    // Slack: the changes queued within group_wait of the first go together.
    const TimePoint horizon = notifier_->groupWait() > Duration{0}
                                  ? first->front().next_attempt + notifier_->groupWait()
                                  : now;
    auto batch = store_.dueNotifications(name_, std::max(now, horizon), notifier_->maxBatch());
    if (!batch || batch->empty()) {
      if (!batch) report(batch.status());
      break;
    }
    if (gate_ && !gate_()) {  // not (or no longer surely) the leader: send nothing
      out.next = now + kMaxIdle;
      return out;
    }
    if (observer_) observer_->attempted(name_, *batch);
    const SendResult r = notifier_->send(*batch, now);
    if (r.aborted) {  // stopping: no verdict; the batch stays queued as it was
      out.next = now;
      return out;
    }
    if (r.ok) {
      consecutive_failures_ = 0;
      if (!r.error.empty() && observer_) observer_->degraded(name_, r.error);
      settleDelivered(*batch, out);
      continue;
    }
    if (!settle(std::move(*batch), r, now, out)) return out;
  }
  auto next = store_.nextNotificationAt(name_);
  if (!next) {
    report(next.status());
    out.next = clock_.now() + kMaxIdle;
  } else {
    out.next = *next;
  }
  return out;
}

void NotifierQueue::settleDelivered(const std::vector<OutboxItem>& items, Pumped& out) {
  for (const auto& it : items) report(store_.removeNotification(it.seq));
  out.delivered += items.size();
  if (observer_ && !items.empty()) observer_->delivered(name_, items);
}

void NotifierQueue::drop(std::vector<OutboxItem> items, const std::string& why, Pumped& out) {
  if (items.empty()) return;
  for (const auto& it : items) report(store_.removeNotification(it.seq));
  if (observer_) observer_->dropped(name_, items, why);
  out.dropped += items.size();
  out.dropped += dropEpisodes(items);
}

bool NotifierQueue::settle(std::vector<OutboxItem> batch, const SendResult& r, TimePoint now,
                           Pumped& out) {
  std::vector<OutboxItem> rest;
  if (r.items.size() == batch.size()) {  // a verdict per item
    std::vector<OutboxItem> delivered, rejected;
    for (size_t i = 0; i < batch.size(); ++i) {
      auto& to = r.items[i] == SendResult::Item::Delivered  ? delivered
                 : r.items[i] == SendResult::Item::Rejected ? rejected
                                                            : rest;
      to.push_back(std::move(batch[i]));
    }
    if (!delivered.empty()) consecutive_failures_ = 0;
    settleDelivered(delivered, out);
    drop(std::move(rejected), "rejected by the receiver: " + r.rejected_error, out);
  } else {
    rest = std::move(batch);
  }
  if (rest.empty()) return true;
  if (r.paced) {  // the receiver's pace: the rest, still due, goes out then; no failure
    paused_until_ = now + std::min(r.retry_after.value_or(Duration{0}), kMaxRetryAfter);
    out.next = paused_until_;
    return false;
  }
  std::vector<OutboxItem> expired, retry;
  for (auto& it : rest) {
    if (!r.retryable || now - it.created_at >= policy_.give_up)
      expired.push_back(std::move(it));
    else
      retry.push_back(std::move(it));
  }
  drop(std::move(expired),
       r.retryable
           ? "still failing " +
                 std::to_string(
                     std::chrono::duration_cast<std::chrono::hours>(policy_.give_up).count()) +
                 "h after it was queued: " + r.error
           : "rejected by the receiver: " + r.error,
       out);
  if (retry.empty()) return true;
  // The batch waits its own backoff (or the receiver's Retry-After). Once
  // several sends in a row failed, the receiver is taken to be down and the
  // whole queue pauses, so a dead receiver costs one request per pause, not
  // one per queued notification; a flaky one keeps the queue moving.
  ++consecutive_failures_;
  const int attempts = retry.front().attempts + 1;
  const Duration wait =
      r.retry_after ? std::min(*r.retry_after, kMaxRetryAfter) : policy_.delay(attempts, rng_);
  for (const auto& it : retry)
    report(store_.rescheduleNotification(it.seq, it.attempts + 1, now + wait, r.error));
  out.failed += retry.size();
  if (observer_) observer_->failed(name_, retry, r.error, now + wait);
  if (r.retry_after || consecutive_failures_ >= kTripAfter) {
    paused_until_ =
        now + (r.retry_after ? wait : policy_.delay(consecutive_failures_ - kTripAfter + 1, rng_));
    out.next = paused_until_;
    return false;
  }
  return true;
}

size_t NotifierQueue::dropEpisodes(const std::vector<OutboxItem>& dropped) {
  // A first firing that will never arrive takes the rest of its episode with
  // it (its repeats and its resolve): the receiver must never get a resolve,
  // or a repeat, for a firing it did not get. A dropped repeat leaves the
  // episode alone: the receiver has its firing and must hear the resolve.
  std::set<std::string> alerts;
  for (const auto& it : dropped)
    if (it.payload.value("status", "") == "firing" && !isRepeat(it.payload))
      alerts.insert(it.alert_id);
  if (alerts.empty()) return 0;
  auto queued = store_.dueNotifications(name_, TimePoint::max(), 1000000);
  if (!queued) {
    if (observer_) observer_->storeError(queued.error());
    return 0;
  }
  std::vector<OutboxItem> followers;
  for (auto& it : *queued) {  // queue order
    if (!alerts.count(it.alert_id)) continue;
    if (it.payload.value("status", "") == "resolved") alerts.erase(it.alert_id);  // episode ends
    followers.push_back(std::move(it));
  }
  for (const auto& it : followers) {
    if (auto st = store_.removeNotification(it.seq); !st && observer_)
      observer_->storeError(st.message());
  }
  if (!followers.empty() && observer_)
    observer_->dropped(name_, followers, "the firing notification before it was dropped");
  return followers.size();
}

Dispatcher::Dispatcher(StateStore& store, const Clock& clock, DeliveryObserver* observer,
                       RetryPolicy policy, SendGate gate)
    : store_(store), clock_(clock), observer_(observer), policy_(policy), gate_(std::move(gate)) {}

Dispatcher::~Dispatcher() {
  stop();
}

void Dispatcher::stopWorkers() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  abort_ = true;
  cv_.notifyAll();
  for (auto& t : threads_) t.join();
  threads_.clear();
  queues_.clear();
  abort_ = false;
  MutexLock lock(mu_);
  stopping_ = false;
}

void Dispatcher::stop() {
  stopWorkers();
}

void Dispatcher::configure(const config::Config& cfg) {
  stopWorkers();
  if (auto queued = store_.queuedNotifiers()) {
    for (const auto& name : *queued) {
      if (cfg.findNotifier(name)) continue;
      // Its notifier is gone from the config: nothing can deliver these.
      if (auto items = store_.dueNotifications(name, TimePoint::max(), 1000000)) {
        for (const auto& it : *items) (void)store_.removeNotification(it.seq);
        if (observer_ && !items->empty())
          observer_->dropped(name, *items, "notifier \"" + name + "\" is no longer configured");
      }
    }
  } else if (observer_) {
    observer_->storeError(queued.error());
  }
  for (const auto& n : cfg.notifiers) {
    auto notifier = makeNotifier(n, store_);
    notifier->setAbortFlag(&abort_);
    queues_.push_back(std::make_unique<NotifierQueue>(n.name, std::move(notifier), store_, clock_,
                                                      observer_, policy_, gate_));
  }
  for (auto& q : queues_)
    threads_.push_back(startNamedThread("dw-notify", [this, qp = q.get()] { work(*qp); }));
}

void Dispatcher::wake() {
  {
    MutexLock lock(mu_);
    ++wakes_;
  }
  cv_.notifyAll();
}

void Dispatcher::pumpOnce(NotifierQueue& q, Duration& idle) {
  idle = kMaxIdle;
  try {
    const auto r = q.pump();
    if (observer_) {
      if (auto n = store_.countNotifications()) observer_->queueSize(*n);
    }
    if (r.next) {
      idle = std::clamp(std::chrono::duration_cast<Duration>(*r.next - clock_.now()), Duration{0},
                        kMaxIdle);
    }
  } catch (const std::exception& ex) {
    // A bug; the items stay queued and are tried again at the next poll.
    if (observer_) observer_->internalError(q.name(), ex.what());
  } catch (...) {
    if (observer_) observer_->internalError(q.name(), "unknown exception");
  }
}

void Dispatcher::work(NotifierQueue& q) {
  uint64_t seen = 0;
  while (true) {
    {
      MutexLock lock(mu_);
      if (stopping_) return;
      seen = wakes_;
    }
    Duration idle = kMaxIdle;
    pumpOnce(q, idle);
    MutexLock lock(mu_);
    cv_.waitFor(lock, idle, [&]() REQUIRES(mu_) { return stopping_ || wakes_ != seen; });
  }
}

}  // namespace datawatch
