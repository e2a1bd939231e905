// wordstat: count the words of a text in SQLite and print the most frequent ones.
//
//   wordstat            the sample text installed with the program
//   wordstat FILE       a file
//   wordstat -          standard input
//   wordstat --version
#include <sqlite3.h>

#include <cctype>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "store.h"

static void load_stopwords(WordStore& store, const std::string& path) {
  std::ifstream in(path);
  std::string word;
  while (in >> word) store.add_stopword(word);
}

static void count(WordStore& store, std::istream& in) {
  std::string word;
  char c;
  while (in.get(c)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalpha(u) || (c == '\'' && !word.empty())) {
      word.push_back(static_cast<char>(std::tolower(u)));
    } else if (!word.empty()) {
      store.add(word);
      word.clear();
    }
  }
  if (!word.empty()) store.add(word);
}

int main(int argc, char** argv) {
  const std::string datadir = WORDSTAT_DATADIR;
  std::string source = argc > 1 ? argv[1] : datadir + "/sample.txt";
  if (source == "--version") {
    std::cout << "wordstat " << WORDSTAT_VERSION << " (sqlite " << sqlite3_libversion() << ")\n";
    return 0;
  }
  try {
    WordStore store;
    load_stopwords(store, datadir + "/stopwords.txt");
    if (source == "-") {
      count(store, std::cin);
      source = "stdin";
    } else {
      std::ifstream in(source);
      if (!in) {
        std::cerr << "wordstat: cannot open " << source << "\n";
        return 2;
      }
      count(store, in);
    }
    std::cout << "wordstat " << WORDSTAT_VERSION << " (sqlite " << sqlite3_libversion()
              << "): " << source << ": " << store.total() << " words, " << store.distinct()
              << " distinct; top words:";
    for (const auto& [word, n] : store.top(5)) std::cout << " " << word << "=" << n;
    std::cout << "\n";
  } catch (const std::exception& e) {
    std::cerr << "wordstat: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
