#include "torvyn/core/suggest.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace torvyn {
namespace {

// Optimal string alignment distance, case-insensitive.
std::size_t distance(std::string_view a, std::string_view b) {
    const auto lower = [](char c) {
        return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    };
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i) {
        d[i][0] = i;
    }
    for (std::size_t j = 0; j <= b.size(); ++j) {
        d[0][j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
                lower(a[i - 2]) == lower(b[j - 1])) {
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
            }
        }
    }
    return d[a.size()][b.size()];
}

}  // namespace

std::optional<std::string> closest(std::string_view word,
                                   std::span<const std::string_view> candidates) {
    // Names are short; a longer word is not compared (and not suggested).
    if (word.empty() || word.size() > 256) {
        return std::nullopt;
    }
    const std::size_t allowed = std::max<std::size_t>(1, word.size() / 3);
    std::optional<std::string> best;
    std::size_t best_distance = allowed + 1;
    for (const std::string_view c : candidates) {
        if (c.size() > 256) {
            continue;
        }
        const std::size_t d = distance(word, c);
        if (d < best_distance && d != 0) {
            best = std::string(c);
            best_distance = d;
        }
    }
    return best;
}

std::optional<std::string> closest(std::string_view word,
                                   const std::vector<std::string>& candidates) {
    const std::vector<std::string_view> views(candidates.begin(), candidates.end());
    return closest(word, views);
}

std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates) {
    const auto c = closest(word, candidates);
    return c ? fmt::format("did you mean '{}'? ", *c) : std::string();
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
    const std::vector<std::string_view> views(candidates.begin(), candidates.end());
    return did_you_mean(word, views);
}

}  // namespace torvyn
