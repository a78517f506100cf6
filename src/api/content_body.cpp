// Content records read with simdjson's On-Demand parser, straight into content records without a
// document tree: ingestion is the hottest path of the server. Boost.JSON (parse_json) stays the
// one judge of malformed JSON: before any error is answered, the body is parsed by it, so that a
// syntax error anywhere is answered as every other route answers it, and before the records'
// own errors.
#include "api/content_body.hpp"

#include "api/request.hpp"
#include "audex/error.hpp"
#include "core/time.hpp"

#include <simdjson.h>

#include <string>

namespace audex::api {

namespace {

namespace od = simdjson::ondemand;

// Calls `line(text, number)` for each line of an NDJSON body that is not blank, numbered from 1.
template <class F>
void each_line(std::string_view body, F&& line) {
    for (std::size_t number = 1; !body.empty(); ++number) {
        auto end = body.find('\n');
        auto text = body.substr(0, end);
        body = end == std::string_view::npos ? std::string_view() : body.substr(end + 1);
        if (text.find_first_not_of(" \t\r") != std::string_view::npos) line(text, number);
    }
}

// Throws parse_json's MalformedBody for the first syntax error of the body (of an NDJSON body,
// with the line's number); returns when there is none.
void check_syntax(std::string_view body, bool ndjson) {
    if (!ndjson) {
        parse_json_body(body);
        return;
    }
    each_line(body, [](std::string_view text, std::size_t number) {
        try {
            parse_json(text);
        } catch (api_exception& e) {
            e.error.details["line"] = number;
            throw;
        }
    });
}

class reader {
  public:
    reader(std::string_view body, bool ndjson) : body_(body), ndjson_(ndjson) {}

    std::vector<index::content_record> read() {
        // One parser a thread, its buffers kept for the next body unless they grew large.
        thread_local od::parser parser;
        simdjson::padded_string text(body_);
        if (ndjson_) {
            each_line(body_, [&](std::string_view line, std::size_t) {
                // The line's padding is the rest of the body and the padding after it.
                auto at = std::size_t(line.data() - body_.data());
                read_document(parser.iterate(text.data() + at, line.size(),
                                             text.size() + simdjson::SIMDJSON_PADDING - at),
                              false);
            });
        } else {
            read_document(parser.iterate(text), true);
        }
        if (parser.capacity() > kept_capacity) parser = od::parser();
        return std::move(records_);
    }

  private:
    static constexpr std::size_t kept_capacity = 4 << 20;

    // One document: the body's array of records, or an NDJSON line's record.
    void read_document(simdjson::simdjson_result<od::document>&& result, bool array) {
        od::document doc;
        if (std::move(result).get(doc)) malformed();
        if (array) {
            od::array elements;
            if (doc.get_array().get(elements))
                invalid("body", "the body must be an array of content records");
            for (auto element : elements) {
                od::value v;
                if (std::move(element).get(v)) malformed();
                read_record(v.get_object());
            }
        } else {
            read_record(doc.get_object());
        }
        // Fully read, the document is at its end: anything after it is not JSON.
        if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) malformed();
    }

    void read_record(simdjson::simdjson_result<od::object>&& result) {
        auto index = records_.size();  // named in errors only
        od::object o;
        if (std::move(result).get(o)) {
            auto where = std::to_string(index);
            invalid(where, where + ": a content record must be an object");
        }
        auto bad = [&](std::string_view key, std::string_view message) {
            auto field = std::to_string(index) + "." + std::string(key);
            invalid(field, field + ": " + std::string(message));
        };
        auto& r = records_.emplace_back();
        bool has_type = false, has_text = false, has_start = false, has_end = false;
        for (auto member : o) {
            od::field f;
            std::string_view key, text;
            if (std::move(member).get(f) || f.unescaped_key().get(key)) malformed();
            auto& value = f.value();
            if (key == "channel_id") {
                if (value.get_int64().get(r.channel)) bad(key, "must be an integer");
            } else if (key == "type") {
                if (value.get_string().get(text) ||
                    (text != "command" && text != "screen" && text != "window_title"))
                    bad(key, "must be command, screen or window_title");
                r.type = text;
                has_type = true;
            } else if (key == "text") {
                if (value.get_string().get(text)) bad(key, "must be a string");
                r.text = text;
                has_text = true;
            } else if (key == "start_time" || key == "end_time") {
                auto t = value.get_string().get(text) ? std::nullopt : parse_time(text);
                if (!t) bad(key, "must be an ISO 8601 date-time");
                (key == "start_time" ? r.start : r.end) = t->at;
                (key == "start_time" ? has_start : has_end) = true;
            } else if (key == "record_id") {
                read_record_id(value, r.record_id, [&] {
                    bad(key, "must be an object of the integers begin, end and for_screenshot");
                });
            } else {
                bad(key, "is not a content record attribute");
            }
        }
        if (!has_type) bad("type", "is required");
        if (!has_text) bad("text", "is required");
        if (!has_start) bad("start_time", "is required");
        if (!has_end) r.end = r.start;
        if (r.end < r.start) bad("end_time", "is before start_time");
    }

    template <class F>
    void read_record_id(od::value& value, boost::json::object& out, F&& bad) {
        od::object o;
        if (value.get_object().get(o)) bad();
        for (auto member : o) {
            od::field f;
            std::string_view key;
            std::int64_t n = 0;
            if (std::move(member).get(f) || f.unescaped_key().get(key)) malformed();
            if ((key != "begin" && key != "end" && key != "for_screenshot") ||
                f.value().get_int64().get(n))
                bad();
            out[key] = n;
        }
    }

    [[noreturn]] void invalid(std::string_view field, std::string message) {
        check_syntax(body_, ndjson_);
        throw api_exception(api_error::invalid_argument(field, std::move(message)));
    }
    // A body that simdjson does not read through is refused even where Boost.JSON parses it.
    [[noreturn]] void malformed() {
        check_syntax(body_, ndjson_);
        throw api_exception({error_type::malformed_body,
                             "the body is not valid JSON",
                             {{"line", 1}, {"position", 0}}});
    }

    std::string_view body_;
    bool ndjson_;
    std::vector<index::content_record> records_;
};

}  // namespace

std::vector<index::content_record> parse_content(std::string_view body, bool ndjson) {
    return reader(body, ndjson).read();
}

}  // namespace audex::api
