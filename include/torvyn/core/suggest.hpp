// "Did you mean ...?": the known name closest to a misspelt one.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace torvyn {

// The candidate closest to `word` by edit distance (insertions, deletions,
// substitutions, transpositions), when it is close enough to be a typo:
// at most a third of the word's length, and at least 1. Ties: the first.
std::optional<std::string> closest(std::string_view word,
                                   std::span<const std::string_view> candidates);
std::optional<std::string> closest(std::string_view word,
                                   const std::vector<std::string>& candidates);

// "did you mean 'x'? " when there is a close candidate, else "".
std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates);
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace torvyn
