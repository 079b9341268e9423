#include "core/config/suggest.h"

#include <algorithm>
#include <cctype>

namespace frugal {
namespace {

std::string lowercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::size_t edit_distance(const std::string& a, const std::string& b) {
  // d[i][j]: distance between the first i characters of a and the first j of b; (|a|+1) x (|b|+1).
  const std::size_t rows = a.size() + 1, cols = b.size() + 1;
  std::vector<std::size_t> d(rows * cols);
  for (std::size_t i = 0; i < rows; ++i) d[i * cols] = i;
  for (std::size_t j = 0; j < cols; ++j) d[j] = j;
  for (std::size_t i = 1; i < rows; ++i)
    for (std::size_t j = 1; j < cols; ++j) {
      const std::size_t substitution = a[i - 1] == b[j - 1] ? 0 : 1;
      std::size_t best = std::min({d[(i - 1) * cols + j] + 1, d[i * cols + j - 1] + 1,
                                   d[(i - 1) * cols + j - 1] + substitution});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        best = std::min(best, d[(i - 2) * cols + j - 2] + 1);
      d[i * cols + j] = best;
    }
  return d[rows * cols - 1];
}

std::optional<std::string> nearest_match(const std::string& word,
                                         const std::vector<std::string>& candidates) {
  const std::size_t max_edits = word.empty() ? 0 : std::min<std::size_t>(3, (word.size() - 1) / 3);
  const std::string lowered = lowercase(word);
  std::optional<std::string> best;
  std::size_t best_distance = max_edits + 1;
  for (const std::string& candidate : candidates) {
    const std::size_t d = edit_distance(lowered, lowercase(candidate));
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

}  // namespace frugal
