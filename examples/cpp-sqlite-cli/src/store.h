// A word-count table in an SQLite database (in memory by default).
#pragma once

#include <sqlite3.h>

#include <string>
#include <utility>
#include <vector>

class WordStore {
 public:
  explicit WordStore(const std::string& path = ":memory:");
  ~WordStore();
  WordStore(const WordStore&) = delete;
  WordStore& operator=(const WordStore&) = delete;

  void add_stopword(const std::string& word);
  void add(const std::string& word);
  long long total() const;
  long long distinct() const;
  std::vector<std::pair<std::string, long long>> top(int limit) const;

 private:
  void exec(const char* sql) const;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
};
