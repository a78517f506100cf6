// Recordings through libvterm into content records (see terminal.hpp; the rules are in
// docs/import.md).
#include "ingest/terminal.hpp"

#include <utf8proc.h>
#include <vterm.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

namespace audex::ingest {

namespace {

// Bracketed paste on and off: bash (5.1 and later), zsh and fish turn it on while their line
// editor reads a command and off when it is entered.
constexpr std::string_view editor_on = "\x1b[?2004h", editor_off = "\x1b[?2004l";

std::string trim_end(std::string s) {
    while (!s.empty() && s.back() == ' ')
        s.pop_back();
    return s;
}

bool blank(std::string_view s) {
    return s.find_first_not_of(' ') == std::string_view::npos;
}

class player {
  public:
    player(const asciicast& cast, const terminal_settings& settings)
        : cast_(cast),
          settings_(settings),
          vt_(vterm_new(cast.height, cast.width)),
          rows_(cast.height),
          cols_(cast.width) {
        for (auto& e : cast.events) {
            has_input_ = has_input_ || e.code == 'i';
            bracketed_ =
                bracketed_ || (e.code == 'o' && e.data.find(editor_on) != std::string::npos);
        }
        vterm_set_utf8(vt_, 1);
        screen_ = vterm_obtain_screen(vt_);
        vterm_screen_enable_altscreen(screen_, 1);
        vterm_screen_set_callbacks(screen_, &callbacks, this);
        vterm_screen_reset(screen_, 1);
    }
    ~player() { vterm_free(vt_); }
    player(const player&) = delete;
    player& operator=(const player&) = delete;

    std::vector<index::content_record> run(const std::function<void(std::size_t)>& progress) {
        for (std::size_t i = 0; i < cast_.events.size(); ++i) {
            auto& e = cast_.events[i];
            event_ = i;
            now_ = cast_.started + micros(std::llround(e.time * 1e6));
            if (e.code == 'o') {
                if (!has_input_) fix_prompt_after_pause();
                output(e.data);
                last_output_ = now_;
                if (editing() && armed_ && !prompt_) candidate_ = prompt_here();
                sample_screen();
            } else if (e.code == 'i') {
                input(e.data);
            } else if (e.code == 'r') {
                resize(e.data);
            }
            if (progress) progress(i + 1);
        }
        now_ = cast_.finished();
        for (auto& [text, s] : visible_)
            keep(text, s);
        visible_.clear();
        close_title();
        std::sort(kept_.begin(), kept_.end(), [](auto& a, auto& b) {
            return std::tie(a.start, a.end, a.row) < std::tie(b.start, b.end, b.row);
        });
        // Lines that appeared and went together make one record, in screen order.
        for (std::size_t i = 0; i < kept_.size();) {
            auto& first = kept_[i];
            std::string text = first.text;
            std::size_t j = i + 1;
            for (; j < kept_.size() && kept_[j].start == first.start && kept_[j].end == first.end;
                 ++j)
                text += "\n" + kept_[j].text;
            emit("screen", std::move(text), first.start, first.end, first.begin, first.end_event,
                 first.begin);
            i = j;
        }
        std::stable_sort(records_.begin(), records_.end(),
                         [](auto& a, auto& b) { return a.start < b.start; });
        return std::move(records_);
    }

  private:
    // Where typed text begins: the screen text left of the cursor when the shell waited for input.
    struct prompt_mark {
        std::string text;
        int cols = 0;
        std::size_t event = 0;
    };
    struct command {
        std::string text;
        micros time = 0;
        std::size_t begin = 0, end = 0;
    };
    struct shown {
        micros start = 0;
        std::size_t event = 0;
        int row = 0;
    };
    struct kept_line {
        micros start = 0, end = 0;
        std::size_t begin = 0, end_event = 0;
        int row = 0;
        std::string text;
    };

    // ---- the screen ----

    // The text of cells [from, to) of a row, blank cells as spaces.
    std::string cells(int row, int from, int to) const {
        std::string out;
        for (int col = from; col < to;) {
            VTermScreenCell cell{};
            vterm_screen_get_cell(screen_, VTermPos{row, col}, &cell);
            if (cell.chars[0] == 0 || cell.chars[0] == std::uint32_t(-1)) {
                out += ' ';
            } else {
                for (int k = 0; k < VTERM_MAX_CHARS_PER_CELL && cell.chars[k]; ++k) {
                    utf8proc_uint8_t buf[4];
                    auto n = utf8proc_encode_char(utf8proc_int32_t(cell.chars[k]), buf);
                    out.append(reinterpret_cast<const char*>(buf), std::size_t(n));
                }
            }
            col += std::max(1, int(cell.width));
        }
        return out;
    }

    // Whether a row's last cell holds a character: text typed past it wrapped onto the next row.
    bool row_full(int row) const {
        VTermScreenCell cell{};
        vterm_screen_get_cell(screen_, VTermPos{row, cols_ - 1}, &cell);
        return cell.chars[0] != 0 && cell.chars[0] != ' ';
    }

    VTermPos cursor() const {
        VTermPos pos;
        vterm_state_get_cursorpos(vterm_obtain_state(vt_), &pos);
        return pos;
    }

    void feed(std::string_view bytes) {
        // Anything but a carriage return between a command's newline and the editor turning off
        // means the line was not entered (a completion list, then Ctrl-C).
        if (submitted_ && bytes.find_first_not_of('\r') != std::string_view::npos)
            submitted_.reset();
        vterm_input_write(vt_, bytes.data(), bytes.size());
    }

    void resize(std::string_view data) {
        int cols = 0, rows = 0;
        if (std::sscanf(std::string(data).c_str(), "%dx%d", &cols, &rows) != 2 || cols < 1 ||
            rows < 1 || cols > 1000 || rows > 1000)
            return;
        rows_ = rows;
        cols_ = cols;
        vterm_set_size(vt_, rows, cols);
        dirty_ = true;
    }

    // ---- commands ----

    bool editing() const { return bracketed_ ? editor_on_ : !alt_; }

    prompt_mark prompt_here() const {
        auto pos = cursor();
        return {cells(pos.row, 0, pos.col), pos.col, event_};
    }

    // The logical line under the cursor after the prompt (rows joined where typing wrapped), or
    // nullopt when the cursor is not on a line that begins with the prompt.
    std::optional<std::string> line_after_prompt() const {
        auto pos = cursor();
        auto begins_with_prompt = [&](int row) {
            return prompt_->cols <= cols_ && cells(row, 0, prompt_->cols) == prompt_->text;
        };
        int row = pos.row;
        while (row > 0 && !begins_with_prompt(row) && row_full(row - 1))
            --row;
        if (!begins_with_prompt(row)) return std::nullopt;
        std::string text = cells(row, prompt_->cols, cols_);
        for (int r = row + 1; r <= pos.row; ++r)
            text += cells(r, 0, cols_);
        return trim_end(std::move(text));
    }

    void emit_command(const command& c) {
        emit("command", c.text, c.time, c.time, c.begin, c.end, c.end);
    }

    // Without input events, the prompt is what the screen shows left of the cursor when output
    // first pauses after the shell started reading a line.
    void fix_prompt_after_pause() {
        if (!editing() || !armed_ || prompt_ || !candidate_ ||
            now_ - last_output_ < settings_.prompt_pause)
            return;
        // Only a prompt that shows something counts: an empty row followed by a pause is a shell
        // or a program that is slow to write (bash's first prompt may follow its bracketed paste
        // switch by tens of milliseconds).
        if (blank(candidate_->text)) return;
        prompt_ = std::move(candidate_);
        candidate_.reset();
        armed_ = false;
    }

    void input(std::string_view data) {
        if (!editing()) return;
        if (armed_ && !prompt_) {
            prompt_ = prompt_here();
            armed_ = false;
        }
        if (prompt_ && data.find_first_of("\r\n") != std::string_view::npos)
            entered_ = command{{}, now_, prompt_->event, event_};
    }

    // A newline is about to move the cursor off its line.
    void newline() {
        if (editing() && prompt_) {
            auto text = line_after_prompt();
            if (text && !blank(*text)) {
                if (has_input_) {
                    if (entered_)
                        emit_command({*text, entered_->time, entered_->begin, entered_->end});
                } else if (bracketed_) {
                    submitted_ = command{*text, now_, prompt_->event, event_};
                } else {
                    emit_command({*text, now_, prompt_->event, event_});
                }
            }
            if (entered_) {
                entered_.reset();
                prompt_.reset();
            }
        }
        // Without bracketed paste, every new line may hold the next prompt.
        if (!bracketed_) {
            prompt_.reset();
            candidate_.reset();
            armed_ = true;
        }
    }

    void editor(bool on) {
        if (!on) {
            // A shell that turns the editor off before its newline.
            if (entered_ && prompt_)
                if (auto text = line_after_prompt(); text && !blank(*text))
                    emit_command({*text, entered_->time, entered_->begin, entered_->end});
            if (submitted_) emit_command(*submitted_);
        }
        editor_on_ = on;
        armed_ = on;
        prompt_.reset();
        candidate_.reset();
        entered_.reset();
        submitted_.reset();
    }

    void output(std::string_view data) {
        std::size_t pos = 0;
        while (pos < data.size()) {
            auto at = data.find_first_of("\n\x1b", pos);
            if (at == std::string_view::npos) {
                feed(data.substr(pos));
                return;
            }
            if (data[at] == '\n') {
                feed(data.substr(pos, at - pos));
                newline();
                vterm_input_write(vt_, "\n", 1);
                pos = at + 1;
                continue;
            }
            auto rest = data.substr(at);
            bool on = rest.starts_with(editor_on);
            if (bracketed_ && (on || rest.starts_with(editor_off))) {
                feed(data.substr(pos, at - pos));
                editor(on);
                vterm_input_write(vt_, rest.data(), editor_on.size());
                pos = at + editor_on.size();
                continue;
            }
            feed(data.substr(pos, at + 1 - pos));
            pos = at + 1;
        }
    }

    // ---- screen text and titles ----

    void keep(const std::string& text, const shown& s) {
        if (now_ - s.start >= settings_.min_visible)
            kept_.push_back({s.start, now_, s.event, event_, s.row, text});
    }

    void sample_screen() {
        if (!dirty_) return;
        dirty_ = false;
        std::map<std::string, int> lines;  // text, first row
        for (int row = 0; row < rows_; ++row) {
            auto text = trim_end(cells(row, 0, cols_));
            if (!blank(text)) lines.try_emplace(std::move(text), row);
        }
        for (auto it = visible_.begin(); it != visible_.end();) {
            if (lines.contains(it->first)) {
                ++it;
                continue;
            }
            keep(it->first, it->second);
            it = visible_.erase(it);
        }
        for (auto& [text, row] : lines)
            visible_.try_emplace(text, shown{now_, event_, row});
    }

    void close_title() {
        if (!blank(title_))
            emit("window_title", title_, title_start_, now_, title_event_, event_, title_event_);
        title_.clear();
    }

    void emit(std::string type, std::string text, micros start, micros end, std::size_t begin,
              std::size_t end_event, std::size_t shot) {
        index::content_record r;
        r.type = std::move(type);
        r.text = std::move(text);
        r.start = start;
        r.end = end;
        r.record_id = {{"begin", std::int64_t(begin)},
                       {"end", std::int64_t(end_event)},
                       {"for_screenshot", std::int64_t(shot)}};
        records_.push_back(std::move(r));
    }

    // ---- libvterm callbacks ----

    static player& self(void* user) { return *static_cast<player*>(user); }
    static int damage(VTermRect, void* user) {
        self(user).dirty_ = true;
        return 1;
    }
    static int moverect(VTermRect, VTermRect, void* user) {
        self(user).dirty_ = true;
        return 1;
    }
    static int settermprop(VTermProp prop, VTermValue* value, void* user) {
        auto& p = self(user);
        if (prop == VTERM_PROP_ALTSCREEN) {
            p.alt_ = value->boolean;
        } else if (prop == VTERM_PROP_TITLE) {
            std::string title = value->string ? value->string : "";
            if (title != p.title_) {
                p.close_title();
                p.title_ = std::move(title);
                p.title_start_ = p.now_;
                p.title_event_ = p.event_;
            }
        }
        return 1;
    }
    static constexpr VTermScreenCallbacks callbacks{damage,  moverect, nullptr, settermprop,
                                                    nullptr, nullptr,  nullptr, nullptr};

    const asciicast& cast_;
    terminal_settings settings_;
    VTerm* vt_;
    VTermScreen* screen_ = nullptr;
    int rows_, cols_;
    bool has_input_ = false, bracketed_ = false;
    bool alt_ = false, editor_on_ = false, dirty_ = true;
    micros now_ = 0, last_output_ = 0;
    std::size_t event_ = 0;

    bool armed_ = true;                     // waiting to learn the next prompt
    std::optional<prompt_mark> prompt_;     // the prompt of the line being edited
    std::optional<prompt_mark> candidate_;  // the cursor's prompt at the last output
    std::optional<command> entered_;        // Enter was typed (input events): when, where
    std::optional<command> submitted_;      // a line ended while editing (no input events)
    std::map<std::string, shown> visible_;  // screen lines by text
    std::vector<kept_line> kept_;           // lines that stayed long enough
    std::string title_;
    micros title_start_ = 0;
    std::size_t title_event_ = 0;
    std::vector<index::content_record> records_;
};

}  // namespace

std::vector<index::content_record> terminal_records(
    const asciicast& cast, const terminal_settings& settings,
    const std::function<void(std::size_t)>& progress) {
    return player(cast, settings).run(progress);
}

}  // namespace audex::ingest
