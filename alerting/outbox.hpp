#pragma once
// Delivery of the notification outbox (SPEC §5, at least once).
//
// Notifications are written to the state store's outbox (StateStore::
// commitAlerts) before anything is sent. A NotifierQueue sends one notifier's
// due notifications in order and deletes each only once its receiver accepted
// it, so a crash or kill -9 at any point re-sends rather than loses (receivers
// drop duplicates by delivery_id, which never changes). A failed notification
// is retried with exponential backoff and jitter, or after the receiver's
// Retry-After; three failures in a row (or a Retry-After) pause the whole
// queue, so a dead receiver is probed, not flooded. A notification still
// failing 24 h after it was queued, or rejected for good (4xx other than
// 408/429), is dropped, counted and reported.
//
// The Dispatcher runs one thread per notifier, so a slow or dead receiver
// delays only its own queue. Stopping it aborts the sends in flight (within
// about a second): an aborted send is no verdict on the receiver, so its
// notifications stay queued as they were (attempts and backoff unchanged) and
// go out after the next start. An exception thrown while pumping a queue is
// reported (DeliveryObserver::internalError) and the worker carries on.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "alerting/notifiers.hpp"
#include "config/types.hpp"
#include "core/clock.hpp"
#include "core/mutex.hpp"
#include "store/state_store.hpp"

namespace datawatch {

// Told about every delivery event (metrics, logs, incident timelines). Called
// from the dispatcher's threads; implementations must be thread-safe.
class DeliveryObserver {
 public:
  virtual ~DeliveryObserver() = default;
  virtual void attempted(const std::string& notifier, const std::vector<OutboxItem>& batch) = 0;
  virtual void delivered(const std::string& notifier, const std::vector<OutboxItem>& batch) = 0;
  // A retryable failure; the batch is tried again at `retry_at`.
  virtual void failed(const std::string& notifier, const std::vector<OutboxItem>& batch,
                      const std::string& error, TimePoint retry_at) = 0;
  // Given up: too old, rejected for good, or its notifier is gone.
  virtual void dropped(const std::string& notifier, const std::vector<OutboxItem>& batch,
                       const std::string& why) = 0;
  virtual void queueSize(int64_t undelivered) = 0;
  // The outbox could not be read or updated (the item stays queued).
  virtual void storeError(const std::string& error) = 0;
  // Delivered, but not everywhere: one Alertmanager of a pair refused it.
  virtual void degraded(const std::string& notifier, const std::string& error) {
    (void)notifier;
    (void)error;
  }
  // A bug: pumping `notifier`'s queue threw `what`; the worker goes on.
  virtual void internalError(const std::string& notifier, const std::string& what) {
    (void)notifier;
    (void)what;
  }
};

struct RetryPolicy {
  Duration initial{std::chrono::seconds(5)};  // first retry after ~5 s
  Duration max{std::chrono::minutes(5)};      // backoff doubles up to this
  Duration give_up{std::chrono::hours(24)};   // counted from when it was queued
  double jitter = 0.2;                        // ± this share of the delay
  // The delay before attempt `attempts` + 1, jittered with `rng`.
  Duration delay(int attempts, std::mt19937_64& rng) const;
};

// Asked right before every send: false means "this process may not send now"
// (an HA replica that is not, or may no longer be, the leader). Nothing is sent
// and nothing changes; the queue is pumped again later.
using SendGate = std::function<bool()>;

// One notifier's share of the outbox. Single-threaded: one caller at a time.
class NotifierQueue {
 public:
  NotifierQueue(std::string name, std::unique_ptr<Notifier> notifier, StateStore& store,
                const Clock& clock, DeliveryObserver* observer, RetryPolicy policy = {},
                SendGate gate = {});

  struct Pumped {
    size_t delivered = 0;  // notifications accepted by the receiver
    size_t failed = 0;     // notifications whose attempt failed (will retry)
    size_t dropped = 0;
    std::optional<TimePoint> next;  // when to pump again; nullopt: queue empty
  };
  // Sends, batch after batch, what is due at the clock's now, in queue order;
  // stops early when the queue pauses.
  Pumped pump();
  const std::string& name() const { return name_; }

 private:
  void report(const Status& st);
  void settleDelivered(const std::vector<OutboxItem>& items, Pumped& out);
  // Removes `items`, given up for `why`, with the rest of their episodes.
  void drop(std::vector<OutboxItem> items, const std::string& why, Pumped& out);
  // Acts on a send that was not wholly accepted: removes what was delivered,
  // drops what was rejected or is too old, reschedules the rest. False when the
  // queue must stop for now (paused: out.next says until when).
  bool settle(std::vector<OutboxItem> batch, const SendResult& r, TimePoint now, Pumped& out);
  // Drops what follows each dropped firing in its alert's queue, up to and
  // including its resolve; returns how many.
  size_t dropEpisodes(const std::vector<OutboxItem>& dropped);

  std::string name_;
  std::unique_ptr<Notifier> notifier_;
  StateStore& store_;
  const Clock& clock_;
  DeliveryObserver* observer_;
  RetryPolicy policy_;
  std::mt19937_64 rng_;
  TimePoint paused_until_{};
  int consecutive_failures_ = 0;
  SendGate gate_;
};

class Dispatcher {
 public:
  Dispatcher(StateStore& store, const Clock& clock, DeliveryObserver* observer,
             RetryPolicy policy = {}, SendGate gate = {});
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // (Re)starts one worker per notifier of `cfg`. Queued notifications of
  // notifiers no longer configured are dropped (and reported).
  void configure(const config::Config& cfg);
  // New notifications were queued: pump now instead of at the next poll.
  void wake();
  // Stops the workers, aborting the sends in flight (returns within about a
  // second whatever the receivers do); their notifications stay queued.
  void stop();

 private:
  void work(NotifierQueue& q);
  void pumpOnce(NotifierQueue& q, Duration& idle);
  void stopWorkers();

  StateStore& store_;
  const Clock& clock_;
  DeliveryObserver* observer_;
  RetryPolicy policy_;
  SendGate gate_;
  Mutex mu_;
  CondVar cv_;
  bool stopping_ GUARDED_BY(mu_) = false;
  uint64_t wakes_ GUARDED_BY(mu_) = 0;
  // Set while stopping: the notifiers' HTTP sends in flight give up.
  std::atomic<bool> abort_{false};
  // configure() and stop() only, on the owner's thread (never concurrently).
  std::vector<std::unique_ptr<NotifierQueue>> queues_;
  std::vector<std::thread> threads_;
};

}  // namespace datawatch
