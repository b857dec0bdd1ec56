// Slack through the Web API (issue 20) against an in-test chat.postMessage /
// chat.update (tests/support/slack_api_fake.hpp): one message per alert
// episode, repeats in its thread, the resolve edited in place; Slack's ok:false
// errors, rate limits and pace; the 50-change storm; and, through the binary,
// a restart between fire and resolve.
#include <signal.h>

#include <catch2/catch.hpp>

#include "core/time_format.hpp"
#include "tests/support/notify_pipeline.hpp"
#include "tests/support/slack_api_fake.hpp"

using namespace datawatch;
using namespace datawatch::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string kBotToken = "xoxb-1234-test-Zq81xLr0";
const std::string kChannel = "C0123ABCD";

std::string slackNotifier(const FakeSlackApi& slack, const std::string& extra = "") {
  return "{type: slack, token: \"" + kBotToken + "\", channel: " + kChannel + ", api_url: \"" +
         slack.url() + "\", mention: \"<!subteam^S0123>\"" + extra + "}";
}

std::string probeName(size_t i) {
  return (i < 10 ? "p0" : "p") + std::to_string(i);
}

// `n` probes p00.. each alerting `hook` at their first failure.
std::string manyProbes(size_t n, const std::string& notifier) {
  std::string yaml = "sources:\n  shop: {type: sqlite, path: /nonexistent.db}\nprobes:\n";
  for (size_t i = 0; i < n; ++i) {
    yaml += "  - {name: " + probeName(i) +
            ", type: freshness, source: shop, table: orders, column: ts, max_age: 1h, "
            "alert: {after: 1, severity: critical, notify: [hook]}}\n";
  }
  return yaml + "notifiers:\n  hook: " + notifier + "\n";
}

std::string colourOf(const FakeSlackApi::Message& m) {
  return m.body["attachments"][0].value("color", "");
}

// Pumps `notifier` until its queue is empty, following the clock to each next
// attempt (at most `rounds` pumps).
void drain(Pipeline& p, const std::string& notifier, int rounds = 20) {
  for (int i = 0; i < rounds && p.queued() > 0; ++i) {
    const auto r = p.pump(notifier);
    if (r.next) p.clock.advanceTo(*r.next);
  }
}

}  // namespace

TEST_CASE("Slack Web API: an alert is one message - repeats in its thread - the resolve edits it",
          "[integration][notify][slack][threads]") {
  FakeSlackApi slack(kBotToken, kChannel);
  Pipeline p(oneNotifier(slackNotifier(slack, ", group_wait: 0s, repeat_interval: 1m")));
  REQUIRE(p.run("orders_fresh", ProbeStatus::Fail) == 1);
  CHECK(p.pump("hook").delivered == 1);
  auto top = slack.topLevel();
  REQUIRE(top.size() == 1);
  const std::string ts = top[0].ts;
  const std::string fired = FakeSlackApi::textOf(top[0].body);
  CHECK_THAT(fired, Catch::Contains("[FIRING] warning: probe orders_fresh"));
  CHECK_THAT(fired, Catch::Contains("<!subteam^S0123>"));
  CHECK(colourOf(top[0]) == "#ecb22e");

  p.clock.advance(1min);  // still failing: a repeat, in the thread
  REQUIRE(p.run("orders_fresh", ProbeStatus::Fail) == 1);
  CHECK(p.pump("hook").delivered == 1);
  REQUIRE(slack.replies(ts).size() == 1);
  CHECK_THAT(FakeSlackApi::textOf(slack.replies(ts)[0].body), Catch::Contains("(still firing)"));
  CHECK_THAT(FakeSlackApi::textOf(slack.replies(ts)[0].body),
             !Catch::Contains("<!subteam^S0123>"));  // replies do not page again

  // Silenced and later not: each change is a reply in the thread.
  p.clock.advance(5s);
  Silence s;
  s.match = {{"probe", "orders_fresh"}};
  s.starts = p.clock.now();
  s.ends = p.clock.now() + 30min;
  s.reason = "backfill";
  const std::string silence_id = p.silences.add(s).id;
  REQUIRE(p.queue({}) == 1);
  CHECK(p.pump("hook").delivered == 1);
  REQUIRE(slack.replies(ts).size() == 2);
  const std::string muted = FakeSlackApi::textOf(slack.replies(ts)[1].body);
  CHECK_THAT(muted, Catch::Contains("(update)"));
  CHECK_THAT(muted, Catch::Contains("silenced by " + silence_id + ": no notifications until"));
  p.clock.advance(31min);
  REQUIRE(p.queue({}) == 2);  // the change, and the repeat now due again
  CHECK(p.pump("hook").delivered == 2);
  REQUIRE(slack.replies(ts).size() == 3);  // one reply: both changes of this alert
  CHECK_THAT(FakeSlackApi::textOf(slack.replies(ts)[2].body),
             Catch::Contains("no longer muted (silenced by " + silence_id + ")"));
  CHECK(slack.topLevel().size() == 1);

  p.clock.advance(63min);
  REQUIRE(p.run("orders_fresh", ProbeStatus::Pass, 60) == 1);
  CHECK(p.pump("hook").delivered == 1);
  top = slack.topLevel();
  REQUIRE(top.size() == 1);  // edited in place, not a second message
  CHECK(top[0].ts == ts);
  CHECK(top[0].updates == 1);
  const std::string resolved = FakeSlackApi::textOf(top[0].body);
  CHECK_THAT(resolved, Catch::Contains("[RESOLVED] warning: probe orders_fresh"));
  CHECK_THAT(resolved, Catch::Contains("after 1h35m"));
  CHECK_THAT(resolved, !Catch::Contains("<!subteam^S0123>"));
  CHECK(colourOf(top[0]) == "#2eb886");
  REQUIRE(slack.replies(ts).size() == 4);
  CHECK_THAT(FakeSlackApi::textOf(slack.replies(ts)[3].body), Catch::Contains("[RESOLVED]"));
  CHECK(slack.problems().empty());

  // A webhook never hears of mute changes (only threads do): see notify_test.
  // The next episode of the same alert is a new message.
  p.clock.advance(1h);
  REQUIRE(p.run("orders_fresh", ProbeStatus::Fail) == 1);
  CHECK(p.pump("hook").delivered == 1);
  REQUIRE(slack.topLevel().size() == 2);
  CHECK(slack.topLevel()[1].ts != ts);
  CHECK(slack.problems().empty());
}

TEST_CASE("Slack Web API: the 50-change storm is one message and one edit within Block Kit limits",
          "[integration][notify][slack][threads]") {
  FakeSlackApi slack(kBotToken, kChannel);
  Pipeline p(manyProbes(50, slackNotifier(slack)));  // group_wait 30s (default)
  for (size_t i = 0; i < 50; ++i) {
    REQUIRE(p.run(probeName(i), ProbeStatus::Fail) == 1);
    if (i % 3 == 0) p.clock.advance(1s);  // over 17 s: all within group_wait of the first
  }
  CHECK(p.pump("hook").delivered == 0);  // group_wait: 30 s after the first change
  p.clock.advanceTo(kNotifyT0 + 30s);
  CHECK(p.pump("hook").delivered == 50);
  REQUIRE(slack.topLevel().size() == 1);
  const auto storm = slack.topLevel()[0];
  CHECK(FakeSlackApi::textOf(storm.body).find("50 firing, 0 resolved") != std::string::npos);
  CHECK(colourOf(storm) == "#e01e5a");  // critical
  CHECK(storm.body["attachments"][0]["blocks"].size() <= 50);

  p.clock.advance(20min);
  for (size_t i = 0; i < 50; ++i) {
    REQUIRE(p.run(probeName(i), ProbeStatus::Pass, 60) == 1);
  }
  p.clock.advance(30s);
  CHECK(p.pump("hook").delivered == 50);
  const auto after = slack.topLevel();
  REQUIRE(after.size() == 1);
  CHECK(after[0].updates == 1);
  CHECK_THAT(FakeSlackApi::textOf(after[0].body), Catch::Contains("0 firing, 50 resolved"));
  CHECK(colourOf(after[0]) == "#2eb886");
  CHECK(slack.replies(storm.ts).size() == 1);
  CHECK(slack.messages().size() == 2);  // 50 alerts, two changes each: two posts, one edit
  CHECK(slack.problems().empty());
}

TEST_CASE("Slack Web API: one message a second, on the agent's clock - not counted as a failure",
          "[integration][notify][slack][threads]") {
  FakeSlackApi slack(kBotToken, kChannel);
  Pipeline p(manyProbes(3, slackNotifier(slack, ", group_wait: 0s")));
  REQUIRE(p.run("p00", ProbeStatus::Fail) == 1);
  CHECK(p.pump("hook").delivered == 1);
  const TimePoint first = p.clock.now();
  p.clock.advance(300ms);
  REQUIRE(p.run("p01", ProbeStatus::Fail) == 1);
  auto r = p.pump("hook");
  CHECK(r.delivered == 0);
  CHECK(r.failed == 0);
  REQUIRE(r.next);
  CHECK(*r.next == first + 1s);  // the rest of the second, not a backoff
  CHECK(p.events.n_failed == 0);
  CHECK(slack.messages().size() == 1);
  p.clock.advanceTo(*r.next);
  CHECK(p.pump("hook").delivered == 1);
  CHECK(slack.topLevel().size() == 2);
  const auto stored = *p.store->dueNotifications("hook", TimePoint::max(), 10);
  CHECK(stored.empty());
}

TEST_CASE("Slack Web API: ok:false errors - permanent ones dropped and counted, rate limits wait",
          "[integration][notify][slack][threads]") {
  FakeSlackApi slack(kBotToken, kChannel);
  Pipeline p(manyProbes(4, slackNotifier(slack, ", group_wait: 0s")));

  // channel_not_found: retrying cannot help; dropped with Slack's error.
  slack.failNext({"channel_not_found", 200, {}, ""});
  REQUIRE(p.run("p00", ProbeStatus::Fail) == 1);
  auto r = p.pump("hook");
  CHECK(r.dropped == 1);
  REQUIRE(p.events.drop_reasons.size() == 1);
  CHECK_THAT(p.events.drop_reasons[0], Catch::Contains("chat.postMessage: channel_not_found"));
  CHECK(p.queued() == 0);

  // HTTP 429 with Retry-After: 7 s, then it goes out.
  p.clock.advance(10s);
  slack.failNext({"ratelimited", 429, {{"Retry-After", "7"}}, ""});
  REQUIRE(p.run("p01", ProbeStatus::Fail) == 1);
  const TimePoint at = p.clock.now();
  r = p.pump("hook");
  CHECK(r.failed == 1);
  REQUIRE(p.events.retry_at.size() == 1);
  CHECK(p.events.retry_at[0] == at + 7s);
  p.clock.advance(6s);
  CHECK(p.pump("hook").delivered == 0);  // still waiting
  p.clock.advance(1s);
  CHECK(p.pump("hook").delivered == 1);

  // ok:false "internal_error" is not permanent: retried with backoff.
  p.clock.advance(10s);
  slack.failNext({"internal_error", 200, {}, ""});
  REQUIRE(p.run("p02", ProbeStatus::Fail) == 1);
  r = p.pump("hook");
  CHECK(r.failed == 1);
  CHECK(r.dropped == 0);
  drain(p, "hook");
  CHECK(p.queued() == 0);
  CHECK(slack.topLevel().size() == 2);  // p01 and p02; p00 was dropped
  CHECK(slack.problems().empty());

  // A wrong token: invalid_auth from Slack, dropped; the token is in no message.
  FakeSlackApi other("xoxb-the-right-one", kChannel);
  Pipeline q(oneNotifier(slackNotifier(other, ", group_wait: 0s")));
  REQUIRE(q.run("orders_fresh", ProbeStatus::Fail) == 1);
  CHECK(q.pump("hook").dropped == 1);
  REQUIRE(q.events.drop_reasons.size() == 1);
  CHECK_THAT(q.events.drop_reasons[0], Catch::Contains("invalid_auth"));
  CHECK_THAT(q.events.drop_reasons[0], !Catch::Contains(kBotToken));
}

TEST_CASE(
    "Slack Web API: a message deleted in Slack - a resolve and a re-fire in one batch - "
    "odd answers",
    "[integration][notify][slack][threads]") {
  FakeSlackApi slack(kBotToken, kChannel);
  Pipeline p(manyProbes(3, slackNotifier(slack, ", group_wait: 0s")));

  // Someone deletes the firing message: the resolve is a new message, not lost.
  REQUIRE(p.run("p00", ProbeStatus::Fail) == 1);
  CHECK(p.pump("hook").delivered == 1);
  REQUIRE(slack.topLevel().size() == 1);
  slack.deleteMessage(slack.topLevel()[0].ts);
  p.clock.advance(10min);
  REQUIRE(p.run("p00", ProbeStatus::Pass, 60) == 1);
  CHECK(p.pump("hook").delivered == 1);
  REQUIRE(slack.topLevel().size() == 1);
  CHECK_THAT(FakeSlackApi::textOf(slack.topLevel()[0].body), Catch::Contains("[RESOLVED]"));
  // ... and its next episode is a message of its own again.
  p.clock.advance(10min);
  REQUIRE(p.run("p00", ProbeStatus::Fail) == 1);
  CHECK(p.pump("hook").delivered == 1);
  REQUIRE(slack.topLevel().size() == 2);
  CHECK_THAT(FakeSlackApi::textOf(slack.topLevel()[1].body), Catch::Contains("[FIRING]"));

  // p01 fires; it resolves and fires again before the queue is pumped: the
  // resolve edits the first message, the new episode is a second one.
  p.clock.advance(10min);
  REQUIRE(p.run("p01", ProbeStatus::Fail) == 1);
  CHECK(p.pump("hook").delivered == 1);
  const std::string first = slack.topLevel().back().ts;
  p.clock.advance(2min);
  REQUIRE(p.run("p01", ProbeStatus::Pass, 60) == 1);
  p.clock.advance(1min);
  REQUIRE(p.run("p01", ProbeStatus::Fail) == 1);
  drain(p, "hook");
  CHECK(p.queued() == 0);
  CHECK(p.events.n_failed == 0);
  const auto top = slack.topLevel();
  REQUIRE(top.size() == 4);
  CHECK(top[2].ts == first);
  CHECK(top[2].updates == 1);
  CHECK_THAT(FakeSlackApi::textOf(top[2].body), Catch::Contains("[RESOLVED]"));
  CHECK_THAT(FakeSlackApi::textOf(top[3].body), Catch::Contains("[FIRING] critical: probe p01"));

  // Answers that are not Slack's: retried, never thrown; ok without a ts is
  // delivered (the resolve then is a message of its own).
  p.clock.advance(10min);
  slack.failNext({"", 200, {}, R"({"ok": "yes", "ts": 12})"});
  slack.failNext({"", 200, {}, "<html>proxy error</html>"});
  slack.failNext({"", 200, {}, R"({"ok": true, "channel": null})"});
  REQUIRE(p.run("p02", ProbeStatus::Fail) == 1);
  auto r = p.pump("hook");
  CHECK(r.failed == 1);
  REQUIRE_FALSE(p.events.errors.empty());
  CHECK_THAT(p.events.errors.back(), Catch::Contains("not a Slack API response"));
  drain(p, "hook");
  CHECK(p.queued() == 0);
  const size_t before = slack.messages().size();
  p.clock.advance(10min);
  REQUIRE(p.run("p02", ProbeStatus::Pass, 60) == 1);
  CHECK(p.pump("hook").delivered == 1);
  REQUIRE(slack.messages().size() == before + 1);
  CHECK(slack.messages().back().thread_ts.empty());
  CHECK(slack.problems() == std::vector<std::string>{});
}

TEST_CASE(
    "Slack Web API through the binary: a restart between fire and resolve edits the same "
    "message",
    "[integration][notify][slack][agent][threads]") {
  TempDir dir;
  makeOrdersWarehouse(dir.path());  // newest row 10 minutes old: older than max_age 1m
  FakeSlackApi slack(kBotToken, kChannel);
  writeFile(dir / "datawatch.yaml", R"(agent:
  state: sqlite://./state.db
sources:
  shop: {type: sqlite, path: ./warehouse.db}
probes:
  - {name: orders_fresh, type: freshness, source: shop, table: orders, column: created_at,
     max_age: 1m, every: 1s, owner: team-billing, alert: {after: 1, severity: page, notify: [oncall]}}
notifiers:
  oncall: {type: slack, token: "${SLACK_BOT_TOKEN}", channel: )" +
                                        kChannel + ", api_url: \"" + slack.url() +
                                        R"(", group_wait: 0s}
)");
  const std::map<std::string, std::string> env{{"SLACK_BOT_TOKEN", kBotToken}};
  const std::vector<std::string> argv{
      DATAWATCH_BINARY, "run", "-c", (dir / "datawatch.yaml").string(), "--listen", "127.0.0.1:0"};
  auto agent = std::make_unique<Process>(argv, dir / "first.out", dir / "first.err", env);
  REQUIRE(eventually([&] { return slack.topLevel().size() == 1; }, 60s));
  const std::string ts = slack.topLevel()[0].ts;
  agent->signal(SIGTERM);
  REQUIRE(agent->wait(20s) == 0);

  SqliteDb(dir / "warehouse.db")
      .exec("INSERT INTO orders (created_at) VALUES ('" +
            formatRfc3339(std::chrono::system_clock::now()) + "')");
  agent = std::make_unique<Process>(argv, dir / "second.out", dir / "second.err", env);
  INFO(readFile(dir / "second.err"));
  REQUIRE(eventually(
      [&] {
        const auto top = slack.topLevel();
        return !top.empty() && top[0].updates > 0;
      },
      60s));
  const auto top = slack.topLevel();
  CHECK(top.size() == 1);
  CHECK(top[0].ts == ts);
  CHECK_THAT(FakeSlackApi::textOf(top[0].body), Catch::Contains("[RESOLVED] page"));
  CHECK(eventually([&] { return slack.replies(ts).size() == 1; }, 10s));
  CHECK(slack.problems().empty());
  agent->signal(SIGTERM);
  CHECK(agent->wait(20s) == 0);
  for (const char* log : {"first.err", "second.err"})
    CHECK(readFile(dir / log).find(kBotToken) == std::string::npos);
}
