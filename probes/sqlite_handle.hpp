#pragma once
// Small RAII owners of SQLite C handles, shared by the SQLite source and the
// SQLite state store. Non-copyable; movable where ownership moves.

#include <sqlite3.h>

#include <string>

namespace datawatch {

// Owns one sqlite3 connection; closes it on destruction.
class SqliteConnection {
 public:
  SqliteConnection() = default;
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;
  SqliteConnection(SqliteConnection&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  SqliteConnection& operator=(SqliteConnection&& o) noexcept {
    if (this != &o) {
      if (db_) sqlite3_close_v2(db_);
      db_ = o.db_;
      o.db_ = nullptr;
    }
    return *this;
  }
  ~SqliteConnection() {
    if (db_) sqlite3_close_v2(db_);
  }
  sqlite3* get() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

// Owns one prepared statement; finalizes it on destruction.
class SqliteStatement {
 public:
  SqliteStatement(sqlite3* db, const std::string& sql) {
    ok_ = sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &s_, nullptr) ==
          SQLITE_OK;
  }
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;
  ~SqliteStatement() {
    if (s_) sqlite3_finalize(s_);
  }
  bool ok() const { return ok_; }
  sqlite3_stmt* get() const { return s_; }

 private:
  sqlite3_stmt* s_ = nullptr;
  bool ok_ = false;
};

// Runs statements without results; on failure returns false and sets `err`.
inline bool sqliteExec(sqlite3* db, const char* sql, std::string& err) {
  char* msg = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    err = msg ? msg : sqlite3_errmsg(db);
    sqlite3_free(msg);
    return false;
  }
  return true;
}

}  // namespace datawatch
