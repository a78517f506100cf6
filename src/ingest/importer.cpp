// The asciicast importer (see importer.hpp and docs/import.md).
#include "ingest/importer.hpp"

#include "audex/error.hpp"
#include "ingest/asciicast.hpp"
#include "ingest/terminal.hpp"

#include <openssl/evp.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace audex::ingest {

namespace json = boost::json;
using boost::beast::http::verb;

namespace {

// A one-line bar on stdout, redrawn when the percentage changes.
class progress_bar {
  public:
    explicit progress_bar(bool shown) : shown_(shown) {}
    ~progress_bar() {
        if (shown_) std::cout << "\r\x1b[K" << std::flush;
    }

    void show(std::string_view stage, std::size_t done, std::size_t total) {
        if (!shown_) return;
        int percent = total ? int(done * 100 / total) : 100;
        if (percent == percent_ && stage == stage_) return;
        percent_ = percent;
        stage_ = stage;
        constexpr int width = 30;
        std::string bar(std::size_t(percent * width / 100), '#');
        bar.resize(width, '.');
        std::cout << "\r[" << bar << "] " << percent << "% " << stage << "\x1b[K" << std::flush;
    }

  private:
    bool shown_;
    int percent_ = -1;
    std::string stage_;
};

// A phrase of the query language that matches `text` exactly.
std::string phrase(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

std::string id_of(const json::object& answer, std::string_view model) {
    return std::string(answer.at(model).at("id").as_string());
}

// The id of the live `model` object with this name, created when there is none.
std::string find_or_create(const api_client& api, std::string_view model, const std::string& name) {
    auto find = [&]() -> std::optional<std::string> {
        auto answer = api({verb::get,
                           std::string(model),
                           {{"filter", "name:" + phrase(name)}, {"fields", "id"}, {"limit", "1"}},
                           nullptr});
        auto& found = answer.at(model).as_array();
        if (found.empty()) return std::nullopt;
        return std::string(found[0].at("id").as_string());
    };
    if (auto id = find()) return *id;
    try {
        return id_of(api({verb::post, std::string(model), {}, json::object{{"name", name}}}),
                     model);
    } catch (const api_exception& e) {
        // Another import created it meanwhile.
        if (e.error.type != error_type::conflict) throw;
        if (auto id = find()) return *id;
        throw;
    }
}

// The SHA-256 of `bytes` in lower-case hex: the identity of a recording.
std::string sha256_hex(std::string_view bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned size = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("cannot compute a SHA-256");
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < size; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 15];
    }
    return out;
}

struct imported_session {
    std::string id;
    bool whole;  // indexed (2): its import ended after all its content was in
};

// The live session imported from the recording with this digest. `started` narrows the search to
// the sessions that start then, which the field indexes select without reading every session.
std::optional<imported_session> find_imported(const api_client& api, const std::string& digest,
                                              const std::string* started) {
    auto filter = "recording_sha256:" + phrase(digest);
    if (started) filter = "started_at:" + phrase(*started) + " AND " + filter;
    auto answer = api({verb::get,
                       "session",
                       {{"filter", filter}, {"fields", "id,indexed"}, {"limit", "1"}},
                       nullptr});
    auto& found = answer.at("session").as_array();
    if (found.empty()) return std::nullopt;
    auto& session = found[0].as_object();
    auto* indexed = session.if_contains("indexed");
    return imported_session{std::string(session.at("id").as_string()),
                            indexed && indexed->is_int64() && indexed->get_int64() == 2};
}

json::object to_json(const index::content_record& r) {
    return {{"channel_id", r.channel},
            {"type", r.type},
            {"text", r.text},
            {"start_time", format_iso_time(r.start)},
            {"end_time", format_iso_time(r.end)},
            {"record_id", r.record_id}};
}

}  // namespace

import_result import_asciicast(const std::filesystem::path& file, const import_options& options,
                               const api_client& api, bool show_progress) {
    // Read once, so that the digest is that of the very bytes imported even if the file changes.
    std::string bytes;
    {
        std::ifstream in(file, std::ios::binary);
        if (!in) throw std::runtime_error("cannot open " + file.string());
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    auto digest = sha256_hex(bytes);
    auto size = std::int64_t(bytes.size());
    progress_bar bar(show_progress);
    std::istringstream in(std::move(bytes));
    auto cast = read_asciicast(in, file.string());
    auto records = terminal_records(
        cast, {}, [&](std::size_t done) { bar.show("playing", done, cast.events.size()); });

    import_result result;
    auto started = format_iso_time(cast.started);
    std::string id;
    // The second attempt follows a conflict: another session took the digest meanwhile, or one
    // holds it whose start time was changed; it is looked up by the digest alone.
    for (int attempt = 0; id.empty(); ++attempt) {
        auto earlier = find_imported(api, digest, attempt == 0 ? &started : nullptr);
        if (earlier && earlier->whole) {
            result.session_id = earlier->id;
            result.already_imported = true;
            return result;
        }
        // An import that stopped part way: which of its records arrived is not known, and content
        // cannot be taken back, so the session goes (with its content) and is imported anew.
        if (earlier) {
            api({verb::delete_, "session/" + earlier->id, {}, nullptr});
            result.replaced_session_id = earlier->id;
        }
        auto user = find_or_create(api, "user", options.user);
        auto server = find_or_create(api, "server", options.server);
        json::object session{{"protocol", options.protocol},
                             {"started_at", started},
                             {"finished_at", format_iso_time(cast.finished())},
                             {"user_id", user},
                             {"server_id", server},
                             {"width", std::to_string(cast.width)},
                             {"height", std::to_string(cast.height)},
                             {"size", size},
                             {"recording_sha256", digest},
                             {"indexed", 0}};
        if (!cast.command.empty()) session["command"] = cast.command;
        try {
            id = id_of(api({verb::post, "session", {}, std::move(session)}), "session");
        } catch (const api_exception& e) {
            if (e.error.type != error_type::conflict || attempt > 0) throw;
        }
    }
    result.session_id = id;

    for (std::size_t i = 0; i < records.size(); i += options.batch) {
        json::array batch;
        for (std::size_t j = i; j < records.size() && j < i + options.batch; ++j)
            batch.push_back(to_json(records[j]));
        api({verb::post, "session/" + id + "/content", {}, std::move(batch)});
        bar.show("storing", std::min(records.size(), i + options.batch), records.size());
    }
    // Like a recorder's session: waiting while its content comes in, indexed once it is all in.
    api({verb::patch, "session/" + id, {}, json::object{{"indexed", 2}}});
    return result;
}

}  // namespace audex::ingest
