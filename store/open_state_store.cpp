// openStateStore: the state store named by agent.state.

#include "config/types.hpp"
#include "store/postgres_state_store.hpp"
#include "store/sqlite_state_store.hpp"

namespace datawatch {

Result<std::unique_ptr<StateStore>> openStateStore(const std::string& url) {
  using R = Result<std::unique_ptr<StateStore>>;
  if (url.rfind("sqlite://", 0) == 0) {
    auto s = SqliteStateStore::open(url.substr(9));
    if (!s) return s.status();
    return R(std::unique_ptr<StateStore>(std::move(s).value()));
  }
  if (config::isSharedState(url)) {
    auto s = PostgresStateStore::open(url);
    if (!s) return s.status();
    return R(std::unique_ptr<StateStore>(std::move(s).value()));
  }
  return R::Error("state store URL must start with sqlite:// or postgres://");
}

}  // namespace datawatch
