#include "store.h"

#include <stdexcept>

WordStore::WordStore(const std::string& path) {
  if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
    throw std::runtime_error(std::string("sqlite3_open: ") + sqlite3_errmsg(db_));
  }
  exec("CREATE TABLE stopwords (word TEXT PRIMARY KEY)");
  exec("CREATE TABLE words (word TEXT PRIMARY KEY, n INTEGER NOT NULL)");
  const char* sql =
      "INSERT INTO words (word, n) SELECT ?1, 1 "
      "WHERE NOT EXISTS (SELECT 1 FROM stopwords WHERE word = ?1) "
      "ON CONFLICT(word) DO UPDATE SET n = n + 1";
  if (sqlite3_prepare_v2(db_, sql, -1, &insert_, nullptr) != SQLITE_OK) {
    throw std::runtime_error(std::string("prepare: ") + sqlite3_errmsg(db_));
  }
  exec("BEGIN");
}

WordStore::~WordStore() {
  sqlite3_finalize(insert_);
  sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(db_);
}

void WordStore::exec(const char* sql) const {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string message = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error(message);
  }
}

void WordStore::add_stopword(const std::string& word) {
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db_, "INSERT OR IGNORE INTO stopwords VALUES (?1)", -1, &stmt, nullptr);
  sqlite3_bind_text(stmt, 1, word.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_step(stmt);
  sqlite3_finalize(stmt);
}

void WordStore::add(const std::string& word) {
  sqlite3_reset(insert_);
  sqlite3_bind_text(insert_, 1, word.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(insert_) != SQLITE_DONE) {
    throw std::runtime_error(std::string("insert: ") + sqlite3_errmsg(db_));
  }
}

static long long scalar(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  long long value = 0;
  sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
  if (sqlite3_step(stmt) == SQLITE_ROW) value = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  return value;
}

long long WordStore::total() const { return scalar(db_, "SELECT coalesce(sum(n), 0) FROM words"); }

long long WordStore::distinct() const { return scalar(db_, "SELECT count(*) FROM words"); }

std::vector<std::pair<std::string, long long>> WordStore::top(int limit) const {
  std::vector<std::pair<std::string, long long>> out;
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db_, "SELECT word, n FROM words ORDER BY n DESC, word LIMIT ?1", -1, &stmt,
                     nullptr);
  sqlite3_bind_int(stmt, 1, limit);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)),
                     sqlite3_column_int64(stmt, 1));
  }
  sqlite3_finalize(stmt);
  return out;
}
