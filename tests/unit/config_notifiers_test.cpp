// Notifier configs: Slack's Web API (token, channel, api_url) and the
// Alertmanager notifier's URL list, auth and generator_url, with their errors.
#include <catch2/catch.hpp>

#include <algorithm>

#include "tests/unit/config_test_support.hpp"

using namespace datawatch;
using namespace datawatch::config;
using namespace datawatch::testing;

namespace {

LoadResult load(const std::string& yaml, std::map<std::string, std::string> vars = {}) {
  return loadTestYaml(yaml, "", std::move(vars));
}

}  // namespace

TEST_CASE("Slack's Web API and Alertmanager's URL list, auth and generator_url",
          "[config][notify]") {
  std::map<std::string, std::string> vars;
  vars["SLACK_BOT_TOKEN"] = "xoxb-111-secret";
  vars["AM_PASSWORD"] = "am-pass-42";
  auto r = load(
      "notifiers:\n"
      "  bot: {type: slack, token: \"${SLACK_BOT_TOKEN}\", channel: C0123ABCD,\n"
      "        api_url: \"http://127.0.0.1:9/api/\"}\n"
      "  am: {type: alertmanager, urls: [\"http://am-0:9093/\", \"http://am-1:9093\"],\n"
      "       basic_auth: {username: dw, password: \"${AM_PASSWORD}\"},\n"
      "       generator_url: \"https://datawatch.example/\"}\n"
      "  am1: {type: alertmanager, url: \"http://am:9093\", bearer_token: tok-am}\n",
      vars);
  INFO(allErrors(r));
  REQUIRE(r.ok());
  const auto& c = *r.config;
  const auto& bot = std::get<SlackNotifierConfig>(c.findNotifier("bot")->spec);
  CHECK(bot.webApi());
  CHECK(bot.token == "xoxb-111-secret");
  CHECK(bot.api_url == "http://127.0.0.1:9/api");
  CHECK(bot.channel == "C0123ABCD");
  const auto& am = std::get<AlertmanagerNotifierConfig>(c.findNotifier("am")->spec);
  CHECK(am.urls == std::vector<std::string>{"http://am-0:9093", "http://am-1:9093"});
  REQUIRE(am.basic_auth);
  CHECK(am.basic_auth->username == "dw");
  CHECK(am.generator_url == "https://datawatch.example/");
  const auto& am1 = std::get<AlertmanagerNotifierConfig>(c.findNotifier("am1")->spec);
  CHECK(am1.urls == std::vector<std::string>{"http://am:9093"});
  CHECK(am1.bearer_token == "tok-am");
  for (const char* secret : {"xoxb-111-secret", "am-pass-42", "tok-am"})
    CHECK(std::find(c.secrets.begin(), c.secrets.end(), secret) != c.secrets.end());

  const auto bad = load(std::string(kPrelude) +
                        "  s1: {type: slack, token: x, webhook_url: \"https://h\", channel: C1}\n"
                        "  s2: {type: slack, token: x}\n"
                        "  a1: {type: alertmanager}\n"
                        "  a2: {type: alertmanager, url: \"http://a\", bearer_token: t,\n"
                        "       basic_auth: {username: u, password: p}}\n"
                        "  a3: {type: alertmanager, urls: [\"ftp://a\"]}\n"
                        "  a4: {type: alertmanager, urls: []}\n"
                        "  a5: {type: alertmanager, url: \"http://a\", urls: [\"http://b\"]}\n"
                        "  s3: {type: slack, channel: C1}\n");
  REQUIRE_FALSE(bad.ok());
  const auto e = allErrors(bad);
  CHECK_THAT(e, Catch::Contains("test.yaml:6:"));
  CHECK_THAT(e, Catch::Contains("notifier \"s1\": set webhook_url (an incoming webhook) or token"));
  CHECK_THAT(e, Catch::Contains("notifier \"s2\": the Web API (token) needs a channel"));
  CHECK_THAT(e, Catch::Contains("notifier \"a1\": set url, or urls (a list"));
  CHECK_THAT(e, Catch::Contains("notifier \"a2\": set basic_auth or bearer_token, not both"));
  CHECK_THAT(e, Catch::Contains("notifier \"a3\": \"ftp://a\" is not an http:// or https:// URL"));
  CHECK_THAT(e, Catch::Contains("notifier \"a4\": urls is empty"));
  CHECK_THAT(e, Catch::Contains("notifier \"a5\": set url or urls, not both"));
  CHECK_THAT(e, Catch::Contains("notifier \"s3\": set webhook_url (an incoming webhook) or token"));
}
