// "Did you mean ...?" for misspelt keys and values.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace frugal {

// Levenshtein distance extended with adjacent transpositions (optimal string alignment), the usual
// typo model: "bacth" is one edit from "batch". Case-sensitive.
std::size_t edit_distance(const std::string& a, const std::string& b);

// The candidate closest to `word` (ignoring case), when it is close enough to be a plausible typo:
// at most min(3, (|word| - 1) / 3) edits away, so words of 3 letters or fewer only match up to case
// ("gpu" is not a typo of "cpu"). Ties go to the earliest candidate.
std::optional<std::string> nearest_match(const std::string& word,
                                         const std::vector<std::string>& candidates);

}  // namespace frugal
