// Test support: reading test data files.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace custos::test_support {

// The whole file as bytes; empty when it cannot be read.
inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The regular files under `dir` (and its subfolders when `recursive`) whose
// extension is one of `extensions` (with the dot), sorted by path.
inline std::vector<std::filesystem::path> files_under(const std::filesystem::path& dir,
                                                      const std::set<std::string>& extensions,
                                                      bool recursive) {
  std::vector<std::filesystem::path> files;
  auto add = [&](const std::filesystem::directory_entry& entry) {
    if (entry.is_regular_file() && extensions.count(entry.path().extension().string()) > 0) {
      files.push_back(entry.path());
    }
  };
  if (recursive) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) add(entry);
  } else {
    for (const auto& entry : std::filesystem::directory_iterator(dir)) add(entry);
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace custos::test_support
