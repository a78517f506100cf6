// The asciicast importer (see importer.hpp and docs/import.md).
#include "ingest/importer.hpp"

#include "audex/error.hpp"
#include "ingest/asciicast.hpp"
#include "ingest/terminal.hpp"

#include <fstream>
#include <iostream>

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

json::object to_json(const index::content_record& r) {
    return {{"channel_id", r.channel},
            {"type", r.type},
            {"text", r.text},
            {"start_time", format_iso_time(r.start)},
            {"end_time", format_iso_time(r.end)},
            {"record_id", r.record_id}};
}

}  // namespace

std::string import_asciicast(const std::filesystem::path& file, const import_options& options,
                             const api_client& api, bool show_progress) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + file.string());
    progress_bar bar(show_progress);
    auto cast = read_asciicast(in, file.string());
    auto records = terminal_records(
        cast, {}, [&](std::size_t done) { bar.show("playing", done, cast.events.size()); });

    auto user = find_or_create(api, "user", options.user);
    auto server = find_or_create(api, "server", options.server);
    json::object session{{"protocol", options.protocol},
                         {"started_at", format_iso_time(cast.started)},
                         {"finished_at", format_iso_time(cast.finished())},
                         {"user_id", user},
                         {"server_id", server},
                         {"width", std::to_string(cast.width)},
                         {"height", std::to_string(cast.height)},
                         {"size", std::int64_t(std::filesystem::file_size(file))},
                         {"indexed", 0}};
    if (!cast.command.empty()) session["command"] = cast.command;
    auto id = id_of(api({verb::post, "session", {}, session}), "session");

    for (std::size_t i = 0; i < records.size(); i += options.batch) {
        json::array batch;
        for (std::size_t j = i; j < records.size() && j < i + options.batch; ++j)
            batch.push_back(to_json(records[j]));
        api({verb::post, "session/" + id + "/content", {}, std::move(batch)});
        bar.show("storing", std::min(records.size(), i + options.batch), records.size());
    }
    // Like a recorder's session: waiting while its content comes in, indexed once it is all in.
    api({verb::patch, "session/" + id, {}, json::object{{"indexed", 2}}});
    return id;
}

}  // namespace audex::ingest
