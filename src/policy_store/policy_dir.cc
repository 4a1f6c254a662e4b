// read_policy_dir: a policy directory joined as docs/policies/README.md says.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include "custos/policy/policy_store.h"

namespace custos::policy {

namespace {

Result<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("cannot open " + path.string());
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return io_error("cannot read " + path.string());
  return text;
}

}  // namespace

std::pair<const PolicySource*, uint32_t> PolicyDirText::locate(uint32_t line) const {
  auto after = std::upper_bound(
      files.begin(), files.end(), line,
      [](uint32_t value, const PolicySource& file) { return value < file.first_line; });
  const PolicySource* file = after == files.begin() ? &files.front() : &*(after - 1);
  return {file, line >= file->first_line ? line - file->first_line + 1 : line};
}

Result<PolicyDirText> read_policy_dir_sources(const std::string& dir) {
  std::error_code error;
  std::filesystem::file_status status = std::filesystem::status(dir, error);
  if (status.type() == std::filesystem::file_type::not_found) {
    return not_found("policy directory " + dir + " does not exist");
  }
  if (error) return io_error("cannot read " + dir + ": " + error.message());
  if (!std::filesystem::is_directory(status)) {
    return invalid_argument(dir + " is not a directory");
  }
  std::vector<std::filesystem::path> paths;
  std::filesystem::directory_iterator entries(dir, error);
  for (; !error && entries != std::filesystem::directory_iterator(); entries.increment(error)) {
    std::error_code type_error;
    if (entries->path().extension() == ".cedar" && entries->is_regular_file(type_error)) {
      paths.push_back(entries->path());
    }
  }
  if (error) return io_error("cannot list " + dir + ": " + error.message());
  if (paths.empty()) return invalid_argument("no *.cedar files in " + dir);
  std::sort(paths.begin(), paths.end(), [](const auto& a, const auto& b) {
    return a.filename().string() < b.filename().string();
  });
  PolicyDirText joined;
  uint32_t line = 1;
  for (const auto& path : paths) {
    CUSTOS_ASSIGN_OR_RETURN(std::string text, read_file(path));
    if (!joined.files.empty()) joined.text += '\n';
    joined.files.push_back({path.string(), line});
    joined.text += text;
    // The file's own newlines, plus the one joining it to the next file.
    line += static_cast<uint32_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  }
  return joined;
}

Result<std::string> read_policy_dir(const std::string& dir) {
  CUSTOS_ASSIGN_OR_RETURN(PolicyDirText joined, read_policy_dir_sources(dir));
  return std::move(joined.text);
}

}  // namespace custos::policy
