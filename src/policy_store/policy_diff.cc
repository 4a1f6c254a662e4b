// diff_policy_text: a unified line diff over the longest common subsequence.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "custos/policy/policy_store.h"

namespace custos::policy {

namespace {

constexpr size_t kContextLines = 3;
// Largest LCS table (cells of uint16_t: 32 MiB). The LCS of an m x n middle
// is at most min(m, n) <= sqrt(kMaxCells) < 65536, so uint16_t cannot overflow.
constexpr size_t kMaxCells = size_t{1} << 24;

// Lines with their terminating '\n' (the last may have none), so that "x" and
// "x\n" differ as they do for diff(1).
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    end = end == std::string_view::npos ? text.size() : end + 1;
    lines.push_back(text.substr(start, end - start));
    start = end;
  }
  return lines;
}

enum class Edit : uint8_t { kKeep, kRemove, kAdd };

// Edits turning a[from_a, to_a) into b[from_b, to_b), appended to `edits`.
void diff_middle(const std::vector<std::string_view>& a, size_t from_a, size_t to_a,
                 const std::vector<std::string_view>& b, size_t from_b, size_t to_b,
                 std::vector<Edit>& edits) {
  size_t rows = to_a - from_a, cols = to_b - from_b;
  if (rows == 0 || cols == 0 || rows * cols > kMaxCells) {
    edits.insert(edits.end(), rows, Edit::kRemove);
    edits.insert(edits.end(), cols, Edit::kAdd);
    return;
  }
  // lcs[i][j]: length of the LCS of a[from_a + i..] and b[from_b + j..].
  size_t width = cols + 1;
  std::vector<uint16_t> lcs((rows + 1) * width, 0);
  for (size_t i = rows; i-- > 0;) {
    for (size_t j = cols; j-- > 0;) {
      lcs[i * width + j] = a[from_a + i] == b[from_b + j]
                               ? static_cast<uint16_t>(lcs[(i + 1) * width + j + 1] + 1)
                               : std::max(lcs[(i + 1) * width + j], lcs[i * width + j + 1]);
    }
  }
  size_t i = 0, j = 0;
  while (i < rows && j < cols) {
    if (a[from_a + i] == b[from_b + j]) {
      edits.push_back(Edit::kKeep);
      ++i;
      ++j;
    } else if (lcs[(i + 1) * width + j] >= lcs[i * width + j + 1]) {
      edits.push_back(Edit::kRemove);
      ++i;
    } else {
      edits.push_back(Edit::kAdd);
      ++j;
    }
  }
  edits.insert(edits.end(), rows - i, Edit::kRemove);
  edits.insert(edits.end(), cols - j, Edit::kAdd);
}

// Within each run of changes, removals first (as diff(1) prints them).
void order_changes(std::vector<Edit>& edits) {
  for (size_t start = 0; start < edits.size();) {
    if (edits[start] == Edit::kKeep) {
      ++start;
      continue;
    }
    size_t end = start;
    while (end < edits.size() && edits[end] != Edit::kKeep) ++end;
    std::stable_partition(edits.begin() + static_cast<std::ptrdiff_t>(start),
                          edits.begin() + static_cast<std::ptrdiff_t>(end),
                          [](Edit edit) { return edit == Edit::kRemove; });
    start = end;
  }
}

// "start,count" as diff(1) writes a hunk range: "start" alone for one line,
// and the line before the hunk with count 0 for an empty range.
std::string hunk_range(size_t lines_before, size_t count) {
  if (count == 0) return std::to_string(lines_before) + ",0";
  if (count == 1) return std::to_string(lines_before + 1);
  return std::to_string(lines_before + 1) + "," + std::to_string(count);
}

void append_line(std::string& out, char marker, std::string_view line) {
  out += marker;
  out.append(line);
  if (line.empty() || line.back() != '\n') out += "\n\\ No newline at end of file\n";
}

}  // namespace

std::string diff_policy_text(std::string_view a, std::string_view b, std::string_view label_a,
                             std::string_view label_b) {
  if (a == b) return "";
  std::vector<std::string_view> lines_a = split_lines(a);
  std::vector<std::string_view> lines_b = split_lines(b);
  size_t head = 0;
  while (head < lines_a.size() && head < lines_b.size() && lines_a[head] == lines_b[head]) ++head;
  size_t tail = 0;
  while (tail < lines_a.size() - head && tail < lines_b.size() - head &&
         lines_a[lines_a.size() - 1 - tail] == lines_b[lines_b.size() - 1 - tail]) {
    ++tail;
  }
  std::vector<Edit> edits(head, Edit::kKeep);
  diff_middle(lines_a, head, lines_a.size() - tail, lines_b, head, lines_b.size() - tail, edits);
  edits.insert(edits.end(), tail, Edit::kKeep);
  order_changes(edits);

  // Line numbers before each edit, to place hunks.
  std::string out = "--- " + std::string(label_a) + "\n+++ " + std::string(label_b) + "\n";
  size_t line_a = 0, line_b = 0;  // lines of a and b consumed before edits[position]
  size_t position = 0;
  auto advance = [&](size_t to) {
    for (; position < to; ++position) {
      if (edits[position] != Edit::kAdd) ++line_a;
      if (edits[position] != Edit::kRemove) ++line_b;
    }
  };
  auto next_change = [&](size_t from) {
    while (from < edits.size() && edits[from] == Edit::kKeep) ++from;
    return from;
  };
  for (size_t change = next_change(0); change < edits.size(); change = next_change(position)) {
    size_t start = std::max(position, change >= kContextLines ? change - kContextLines : 0);
    // Extend the hunk over changes separated by at most 2 x context kept lines.
    size_t end = change;
    while (true) {
      while (end < edits.size() && edits[end] != Edit::kKeep) ++end;
      size_t following = next_change(end);
      if (following < edits.size() && following - end <= 2 * kContextLines) {
        end = following;
        continue;
      }
      end = std::min(edits.size(), end + kContextLines);
      break;
    }
    advance(start);
    size_t count_a = 0, count_b = 0;
    for (size_t k = start; k < end; ++k) {
      if (edits[k] != Edit::kAdd) ++count_a;
      if (edits[k] != Edit::kRemove) ++count_b;
    }
    out += "@@ -" + hunk_range(line_a, count_a) + " +" + hunk_range(line_b, count_b) + " @@\n";
    size_t index_a = line_a, index_b = line_b;
    for (size_t k = start; k < end; ++k) {
      switch (edits[k]) {
        case Edit::kKeep:
          append_line(out, ' ', lines_a[index_a++]);
          ++index_b;
          break;
        case Edit::kRemove: append_line(out, '-', lines_a[index_a++]); break;
        case Edit::kAdd: append_line(out, '+', lines_b[index_b++]); break;
      }
    }
    advance(end);
  }
  return out;
}

}  // namespace custos::policy
