// The stored forms of session content (see content_format.hpp).
#include "index/content_format.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/sort/spreadsort/integer_sort.hpp>

namespace audex::index::stored {

std::string u32_key(std::uint32_t v) {
    std::string k;
    store::append_u32(k, v);
    return k;
}

std::string term_key(std::uint32_t segment, std::string_view term) {
    auto k = u32_key(segment);
    k += term;
    return k;
}

std::string session_key(std::uint64_t session, std::uint32_t first) {
    auto k = store::u64_key(session);
    k += u32_key(first);
    return k;
}

std::pair<std::uint32_t, std::uint32_t> session_run(const store::cursor& c) {
    if (c.key().size() != 12 || (!c.value().empty() && c.value().size() != 4))
        throw std::runtime_error("content.by_session is damaged");
    return {store::read_u32(c.key(), 8), c.value().empty() ? 1 : store::read_u32(c.value())};
}

void add_session_records(store::cursor& c, std::uint64_t session, Roaring& out) {
    auto prefix = store::u64_key(session);
    for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next()) {
        auto [first, count] = session_run(c);
        out.addRange(first, std::uint64_t(first) + count);
    }
}

std::uint64_t stat(const store::transaction& txn, store::table t, std::string_view key) {
    auto raw = txn.get(t, key);
    return raw ? store::read_u64(*raw) : 0;
}

std::uint8_t encode_length(std::size_t tokens) {
    if (tokens < 128) return std::uint8_t(tokens);
    auto code = 127 + std::lround(16 * std::log2(double(tokens) / 127));
    return std::uint8_t(std::min<long>(code, 255));
}

double decode_length(std::uint8_t code) {
    return code < 128 ? code : 127 * std::exp2((code - 127) / 16.0);
}

void append_postings(std::string& out, std::span<const std::uint32_t> numbers, std::string_view tf,
                     std::string_view length) {
    store::append_u32(out, std::uint32_t(tf.size()));
    out += tf;
    out += length;
    store::append_bitmap(numbers, out);
}

void concatenate(const std::vector<std::string_view>& parts, std::vector<std::uint32_t>& numbers,
                 std::string& out) {
    boost::container::small_vector<postings_view, content_index::merge_width> views;
    std::uint32_t count = 0;
    for (auto raw : parts)
        count += views.emplace_back(raw).count;
    store::append_u32(out, count);
    for (auto& p : views)
        out.append(reinterpret_cast<const char*>(p.tf), p.count);
    for (auto& p : views)
        out.append(reinterpret_cast<const char*>(p.length), p.count);
    numbers.clear();
    for (auto& p : views)
        p.append_numbers(numbers);
    store::append_bitmap(numbers, out);
}

std::string without(std::string_view raw, const Roaring& gone) {
    postings_view p(raw);
    std::vector<std::uint32_t> numbers, kept;
    p.append_numbers(numbers);
    std::string tf, length;
    for (std::size_t i = 0; i < numbers.size(); ++i) {
        if (!gone.contains(numbers[i])) {
            kept.push_back(numbers[i]);
            tf.push_back(char(p.tf[i]));
            length.push_back(char(p.length[i]));
        }
    }
    if (kept.empty()) return {};
    std::string out;
    append_postings(out, kept, tf, length);
    return out;
}

bool seek_block(store::cursor& c, std::uint32_t segment, std::string_view term) {
    auto prefix = u32_key(segment), key = prefix + std::string(term);
    bool ok = c.seek(key);
    if (!ok || c.key() != key) {
        ok = ok ? c.prev() : c.last();
        if (!ok || !c.key().starts_with(prefix)) ok = c.seek(prefix);
    }
    return ok && c.key().starts_with(prefix);
}

std::optional<std::string_view> find_postings(store::cursor& c, std::uint32_t segment,
                                              std::string_view term) {
    if (!seek_block(c, segment, term)) return std::nullopt;
    block_view block(c.value());
    auto i = block.lower_bound(term);
    if (i == block.size() || block.term(i) != term) return std::nullopt;
    return block.postings(i);
}

std::vector<segment> load_segments(const store::transaction& txn, store::table table) {
    std::vector<segment> out;
    auto c = txn.open_cursor(table);
    for (bool ok = c.first(); ok; ok = c.next()) {
        segment s{store::read_u32(c.key()),
                  store::read_u32(c.value()),
                  store::read_u32(c.value(), 4),
                  {}};
        for (std::size_t at = 8; at + 4 <= c.value().size(); at += 4)
            s.sources.push_back(store::read_u32(c.value(), at));
        out.push_back(std::move(s));
    }
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) {
        return a.first < b.first || (a.first == b.first && a.end > b.end);
    });
    return out;
}

std::vector<segment> searched_segments(const store::transaction& txn, store::table table) {
    auto out = load_segments(txn, table);
    std::erase_if(out, [](auto& s) { return !s.sources.empty(); });
    return out;
}

std::optional<std::size_t> choose_merge(const std::vector<segment>& segments) {
    std::optional<std::size_t> best;
    std::uint64_t best_total = 0;
    for (std::size_t i = 0; i + content_index::merge_width <= segments.size(); ++i) {
        std::uint64_t total = 0, largest = 0;
        for (std::size_t j = i; j < i + content_index::merge_width; ++j) {
            std::uint64_t size = segments[j].end - segments[j].first;
            total += size;
            largest = std::max(largest, size);
        }
        if (total > max_merged_records || total < 2 * largest) continue;
        if (!best || total < best_total) best = i, best_total = total;
    }
    return best;
}

std::string last_term(const store::transaction& txn, store::table blocks, std::uint32_t segment) {
    auto c = txn.open_cursor(blocks);
    bool ok = c.seek(u32_key(segment + 1));
    ok = ok ? c.prev() : c.last();
    if (!ok || !c.key().starts_with(u32_key(segment))) return {};
    block_view last(c.value());
    return std::string(last.term(last.size() - 1));
}

bool join_postings(const store::transaction& txn, store::table blocks,
                   const std::vector<segment>& sources, const std::string& after,
                   segment_writer& out) {
    std::deque<segment_terms> runs;
    for (auto& s : sources) {
        auto& run = runs.emplace_back(txn, blocks, s.id, after);
        if (!after.empty() && run.valid() && run.term() == after) run.next();
    }
    std::vector<std::string_view> parts;
    std::vector<std::uint32_t> numbers;
    for (;;) {
        std::optional<ordered_term> least;
        for (auto& r : runs)
            if (r.valid() && (!least || r.ordered() < *least)) least = r.ordered();
        if (!least) return true;
        if (out.bytes() >= merge_bytes) return false;
        parts.clear();
        for (auto& r : runs)
            if (r.valid() && r.ordered() == *least) {
                parts.push_back(r.postings());
                r.next();
            }
        if (parts.size() == 1)
            out.add(least->text, parts[0]);  // a term of one source moves as it is
        else
            out.add(least->text, [&](std::string& out) { concatenate(parts, numbers, out); });
    }
}

std::string encode_record(const content_record& r) {
    auto id = r.record_id.empty() ? std::string() : json::serialize(r.record_id);
    std::string out;
    out.reserve(41 + r.type.size() + r.text.size() + id.size());
    out.push_back(record_format);
    store::append_u64(out, r.session);
    store::append_i64(out, r.channel);
    store::append_i64(out, r.start);
    store::append_i64(out, r.end);
    for (auto* field : {&r.type, &r.text}) {
        store::append_u32(out, std::uint32_t(field->size()));
        out += *field;
    }
    out += id;
    return out;
}

content_record decode_record(std::string_view raw) {
    auto damaged = [] { throw std::runtime_error("a content record is damaged"); };
    if (raw.size() < 33 || raw[0] != record_format) damaged();
    content_record r;
    r.session = store::read_u64(raw, 1);
    r.channel = store::read_i64(raw, 9);
    r.start = store::read_i64(raw, 17);
    r.end = store::read_i64(raw, 25);
    std::size_t at = 33;
    for (auto* field : {&r.type, &r.text}) {
        if (raw.size() - at < 4) damaged();
        auto length = store::read_u32(raw, at);
        if (raw.size() - at - 4 < length) damaged();
        field->assign(raw.substr(at + 4, length));
        at += 4 + length;
    }
    if (at < raw.size()) r.record_id = json::parse(raw.substr(at)).as_object();
    return r;
}

content_record from_json(const json::object& o) {
    content_record r;
    r.session = o.at("s").to_number<std::uint64_t>();
    r.channel = o.at("c").to_number<std::int64_t>();
    r.type = o.at("t").as_string();
    r.text = o.at("x").as_string();
    r.start = o.at("b").to_number<std::int64_t>();
    r.end = o.at("e").to_number<std::int64_t>();
    r.record_id = o.at("r").as_object();
    return r;
}

}  // namespace audex::index::stored
