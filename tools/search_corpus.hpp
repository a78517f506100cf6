// The deterministic corpus and query sets of scripts/bench-search: content records of shell
// sessions (commands, screens of command output, window titles) with a Zipfian vocabulary, each
// record a pure function of the seed and its number, so that every engine gets the same corpus.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace audex::bench {

struct corpus_record {
    std::uint32_t session;  // 0 .. sessions-1
    std::string type;       // command, screen or window_title
    std::int64_t start;     // microseconds since the epoch
    std::string text;
};

// The query classes, in table order.
enum class query_class { term, all_of, any_of, phrase, prefix, field_time };
inline constexpr query_class query_classes[] = {query_class::term,   query_class::all_of,
                                                query_class::any_of, query_class::phrase,
                                                query_class::prefix, query_class::field_time};
const char* class_name(query_class c);

// One query: its words (one, two, or a prefix without `*`) and, for field_time, a time window.
struct bench_query {
    query_class kind;
    std::vector<std::string> words;
    std::int64_t from = 0, to = 0;  // microseconds, inclusive
};

class corpus {
  public:
    // Sessions start a minute apart, or, with `months`, evenly over that many 30-day months.
    corpus(std::size_t records, std::size_t sessions, std::size_t months = 0,
           std::uint64_t seed = 20261123);

    std::size_t size() const { return records_; }
    std::size_t sessions() const { return sessions_; }
    corpus_record at(std::size_t number) const;

    // The records of a session: [first, end).
    std::size_t first_of(std::size_t session) const;
    // When a session starts and ends (its first record starts, its last one ends).
    std::int64_t session_start(std::size_t session) const;
    std::int64_t session_end(std::size_t session) const;

    // `count` queries of a class, drawn from the vocabulary (log-uniform over its ranks, so
    // frequent, common and rare words alike) or, for phrases, from two adjacent words of a record.
    std::vector<bench_query> queries(query_class c, std::size_t count) const;

  private:
    const std::string& zipf_word(std::uint64_t& state) const;
    std::string path(std::uint64_t& state) const;
    std::string ip(std::uint64_t& state) const;

    std::size_t records_, sessions_;
    std::int64_t session_spacing_;  // µs between the starts of consecutive sessions
    std::uint64_t seed_;
    std::vector<std::string> words_;  // by rank, most frequent first
    std::vector<double> cdf_;         // Zipf over words_
};

}  // namespace audex::bench
