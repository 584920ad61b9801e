#include "torvyn/observability/bench.hpp"
#include "torvyn/observability/report.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>

#include <fmt/format.h>

namespace torvyn {
namespace {

std::string html_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '&':
                out += "&amp;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

// A bar chart of the latency histogram, log-scaled on x.
std::string latency_svg(const Histogram& h) {
    const auto buckets = h.buckets();
    if (buckets.empty()) {
        return "<p>no deliveries measured</p>";
    }
    const double w = 720;
    const double ht = 220;
    const double lo =
        std::log10(static_cast<double>(std::max<std::uint64_t>(buckets.front().lo, 1)));
    const double hi =
        std::log10(static_cast<double>(std::max<std::uint64_t>(buckets.back().hi, 2))) + 0.05;
    std::uint64_t peak = 0;
    for (const auto& b : buckets) {
        peak = std::max(peak, b.count);
    }
    std::string svg = fmt::format(
        "<svg xmlns='http://www.w3.org/2000/svg' width='{}' height='{}' "
        "style='background:#fafafa'>",
        w + 60, ht + 40);
    for (const auto& b : buckets) {
        const double x0 =
            50 + (std::log10(static_cast<double>(std::max<std::uint64_t>(b.lo, 1))) - lo) /
                     (hi - lo) * w;
        const double x1 =
            50 + (std::log10(static_cast<double>(std::max<std::uint64_t>(b.hi + 1, 2))) - lo) /
                     (hi - lo) * w;
        const double bh = static_cast<double>(b.count) / static_cast<double>(peak) * ht;
        svg += fmt::format(
            "<rect x='{:.1f}' y='{:.1f}' width='{:.1f}' height='{:.1f}' fill='#4f46e5'/>", x0,
            10 + ht - bh, std::max(1.0, x1 - x0), bh);
    }
    for (double d = std::ceil(lo); d <= hi; d += 1) {
        const double x = 50 + (d - lo) / (hi - lo) * w;
        svg += fmt::format(
            "<line x1='{0:.1f}' x2='{0:.1f}' y1='10' y2='{1}' stroke='#ccc'/>"
            "<text x='{0:.1f}' y='{2}' font-size='11' text-anchor='middle'>{3}</text>",
            x, 10 + ht, 28 + ht, format_ns(std::pow(10.0, d)));
    }
    svg += "</svg>";
    return svg;
}

std::string nodes_svg(const FlowReport& r) {
    double peak = 1;
    for (const auto& n : r.nodes) {
        peak = std::max(peak, static_cast<double>(n.busy.count()));
    }
    const double row = 26;
    std::string svg =
        fmt::format("<svg xmlns='http://www.w3.org/2000/svg' width='960' height='{}'>",
                    row * static_cast<double>(r.nodes.size()) + 10);
    double y = 5;
    for (const auto& n : r.nodes) {
        const double per = n.elements_in + n.elements_out == 0
                               ? 0
                               : static_cast<double>(n.busy.count()) /
                                     static_cast<double>(std::max(n.elements_in, n.elements_out));
        const double bw = static_cast<double>(n.busy.count()) / peak * 480;
        svg += fmt::format(
            "<text x='0' y='{:.0f}' font-size='12'>{}</text><rect x='140' y='{:.0f}' "
            "width='{:.1f}' "
            "height='18' fill='#059669'/><text x='{:.1f}' y='{:.0f}' font-size='11'>{} ({} per "
            "element)</text>",
            y + 14, html_escape(n.name), y, bw, 146 + bw, y + 14,
            format_ns(static_cast<double>(n.busy.count())), format_ns(per));
        y += row;
    }
    svg += "</svg>";
    return svg;
}

}  // namespace

void BenchObserver::on_start(const FlowTopology& topology) {
    created_ = topology.created;
    started_ = Clock::now();
    scale_.emplace();
}

void BenchObserver::on_delivered(std::uint32_t, const ElementRef& e, std::uint64_t bytes,
                                 std::uint64_t now_ticks) {
    const auto now = Clock::now();
    if (deliveries_++ == 0) {
        first_delivery_ = now - created_;
        measuring_since_ = started_;
    }
    if (deliveries_ <= warmup_) {
        measuring_since_ = now;
        return;
    }
    latency_ticks_.record(now_ticks > e.born_ticks ? now_ticks - e.born_ticks : 0);
    last_delivery_ = now;
    ++measured_elements_;
    measured_bytes_ += bytes;
}

void BenchObserver::on_finish(const FlowReport&) {
    if (scale_) {
        ns_per_tick_ = scale_->ns_per_tick();
    }
}

Histogram BenchObserver::latency() const {
    return latency_ticks_.scaled(ns_per_tick_);
}

std::chrono::nanoseconds BenchObserver::measured() const {
    return measured_elements_ > 0 ? last_delivery_ - measuring_since_ : std::chrono::nanoseconds{0};
}

nlohmann::json bench_to_json(const FlowReport& r, const BenchObserver& m, std::uint64_t rss_bytes) {
    const double secs = std::chrono::duration<double>(m.measured()).count();
    const double elements = static_cast<double>(m.measured_elements());
    const Histogram latency = m.latency();
    nlohmann::json j;
    j["flow"] = r.name;
    j["ok"] = r.ok();
    j["elements"] = m.measured_elements();
    j["measured_ns"] = m.measured().count();
    j["elements_per_second"] = secs > 0 ? elements / secs : 0.0;
    j["bytes_per_second"] = secs > 0 ? static_cast<double>(m.measured_bytes()) / secs : 0.0;
    j["latency_ns"] = {{"p50", latency.percentile(0.50)},
                       {"p90", latency.percentile(0.90)},
                       {"p99", latency.percentile(0.99)},
                       {"p999", latency.percentile(0.999)},
                       {"max", latency.max()},
                       {"mean", latency.mean()},
                       {"count", latency.count()}};
    j["startup_ns"] = r.startup.count();
    j["threads"] = r.threads;
    j["first_element_ns"] = m.first_delivery().count();
    const double all = static_cast<double>(std::max<std::uint64_t>(r.delivered, 1));
    j["copies_per_element"] = static_cast<double>(r.copies.total().copies) / all;
    j["copied_bytes_per_element"] = static_cast<double>(r.copies.total().bytes) / all;
    // Calls into components and from them into the host, per delivered
    // element, counted as they happened (init, teardown and warm-up included).
    std::uint64_t calls = 0;
    std::uint64_t host_calls = 0;
    for (const auto& n : r.nodes) {
        calls += n.calls;
        host_calls += n.host_calls;
    }
    j["calls_per_element"] = static_cast<double>(calls) / all;
    j["host_calls_per_element"] = static_cast<double>(host_calls) / all;
    auto& nodes = j["nodes"] = nlohmann::json::array();
    for (const auto& n : r.nodes) {
        const auto count = std::max<std::uint64_t>(std::max(n.elements_in, n.elements_out), 1);
        nodes.push_back(
            {{"name", n.name},
             {"role", role_name(n.role)},
             {"busy_ns", n.busy.count()},
             {"ns_per_element", static_cast<double>(n.busy.count()) / static_cast<double>(count)},
             {"calls", n.calls},
             {"thread", n.thread},
             {"host_calls", n.host_calls}});
    }
    auto& queues = j["queues"] = nlohmann::json::array();
    for (const auto& e : r.edges) {
        queues.push_back({{"from", e.from},
                          {"to", e.to},
                          {"capacity", e.capacity},
                          {"peak", e.peak},
                          {"mean_occupancy", e.pushed ? static_cast<double>(e.occupancy_sum) /
                                                            static_cast<double>(e.pushed)
                                                      : 0.0},
                          {"pressured_ns", e.pressured.count()},
                          {"dropped", e.dropped}});
    }
    j["memory"] = {{"peak_buffer_bytes", r.buffers.peak_bytes_held}, {"peak_rss_bytes", rss_bytes}};
    return j;
}

std::string format_bench(const nlohmann::json& b) {
    std::string out;
    const auto& l = b["latency_ns"];
    out += fmt::format("bench '{}': {} elements, {:.0f} elements/s, {:.1f} MB/s\n",
                       b["flow"].get<std::string>(), b["elements"].get<std::uint64_t>(),
                       b["elements_per_second"].get<double>(),
                       b["bytes_per_second"].get<double>() / 1e6);
    out += fmt::format("  latency   p50 {}  p90 {}  p99 {}  p99.9 {}  max {}\n",
                       format_ns(l["p50"].get<double>()), format_ns(l["p90"].get<double>()),
                       format_ns(l["p99"].get<double>()), format_ns(l["p999"].get<double>()),
                       format_ns(l["max"].get<double>()));
    out += fmt::format("  start-up  {} to ready, {} to the first element\n",
                       format_ns(b["startup_ns"].get<double>()),
                       format_ns(b["first_element_ns"].get<double>()));
    out += fmt::format("  copies    {:.2f} per element, {:.0f} bytes per element\n",
                       b["copies_per_element"].get<double>(),
                       b["copied_bytes_per_element"].get<double>());
    for (const auto& n : b["nodes"]) {
        out += fmt::format("  node      {:<14} {:<10} {:>10} per element\n",
                           n["name"].get<std::string>(), n["role"].get<std::string>(),
                           format_ns(n["ns_per_element"].get<double>()));
    }
    for (const auto& q : b["queues"]) {
        out += fmt::format("  queue     {} -> {}: mean {:.1f} / peak {} of {}, pressured {}\n",
                           q["from"].get<std::string>(), q["to"].get<std::string>(),
                           q["mean_occupancy"].get<double>(), q["peak"].get<std::uint64_t>(),
                           q["capacity"].get<std::uint64_t>(),
                           format_ns(q["pressured_ns"].get<double>()));
    }
    out += fmt::format("  memory    peak buffers {:.1f} KiB, peak RSS {:.1f} MiB\n",
                       b["memory"]["peak_buffer_bytes"].get<double>() / 1024.0,
                       b["memory"]["peak_rss_bytes"].get<double>() / (1024.0 * 1024.0));
    if (b.contains("repeat")) {
        const auto& r = b["repeat"];
        const auto& e = r["elements_per_second"];
        const auto& p50 = r["latency_p50_ns"];
        out += fmt::format(
            "  repeat    {} runs (medians above): elements/s {:.0f} – {:.0f}, spread {:.0f}%; "
            "p50 {} – {}, spread {:.0f}%\n",
            r["runs"].get<std::size_t>(), e["min"].get<double>(), e["max"].get<double>(),
            e["spread_pct"].get<double>(), format_ns(p50["min"].get<double>()),
            format_ns(p50["max"].get<double>()), p50["spread_pct"].get<double>());
    }
    return out;
}

std::string bench_html(const std::vector<FlowReport>& reports,
                       const std::vector<const BenchObserver*>& measured,
                       const nlohmann::json& benches) {
    std::string html =
        "<!doctype html><html><head><meta charset='utf-8'><title>torvyn bench</title>"
        "<style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse}"
        "td,th{border:1px solid #ddd;padding:4px 10px;text-align:right}th{background:#eef}"
        "td:first-child,th:first-child{text-align:left}</style></head><body><h1>torvyn bench</h1>";
    for (std::size_t i = 0; i < reports.size() && i < benches.size(); ++i) {
        const auto& b = benches[i];
        const auto& l = b["latency_ns"];
        html += fmt::format(
            "<h2>flow {}</h2><table><tr><th>elements</th><th>elements/s</th><th>MB/s</th>"
            "<th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th>"
            "<th>copies/element</th></tr>",
            html_escape(b["flow"].get<std::string>()));
        html += fmt::format(
            "<tr><td>{}</td><td>{:.0f}</td><td>{:.1f}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}</td><td>{}</td><td>{:.2f}</td></tr></table>",
            b["elements"].get<std::uint64_t>(), b["elements_per_second"].get<double>(),
            b["bytes_per_second"].get<double>() / 1e6, format_ns(l["p50"].get<double>()),
            format_ns(l["p90"].get<double>()), format_ns(l["p99"].get<double>()),
            format_ns(l["p999"].get<double>()), format_ns(l["max"].get<double>()),
            b["copies_per_element"].get<double>());
        html += "<h3>End-to-end latency (source emit to sink delivery)</h3>" +
                latency_svg(measured.at(i)->latency());
        html += "<h3>Time inside each node</h3>" + nodes_svg(reports[i]);
    }
    html += "</body></html>\n";
    return html;
}

namespace {

double elements_per_second(const nlohmann::json& run) {
    return run["elements_per_second"].get<double>();
}

// Minimum, median and maximum of `get` over the runs.
template <class Get>
std::tuple<double, double, double> spread_of(const std::vector<nlohmann::json>& runs, Get get) {
    std::vector<double> v;
    for (const auto& r : runs) {
        v.push_back(get(r));
    }
    std::sort(v.begin(), v.end());
    const double median =
        v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
    return {v.front(), median, v.back()};
}

}  // namespace

std::size_t median_run(const std::vector<nlohmann::json>& runs) {
    if (runs.size() < 2) {
        return 0;
    }
    const double median = std::get<1>(spread_of(runs, elements_per_second));
    const auto closest =
        std::min_element(runs.begin(), runs.end(), [&](const auto& a, const auto& b) {
            return std::abs(elements_per_second(a) - median) <
                   std::abs(elements_per_second(b) - median);
        });
    return static_cast<std::size_t>(closest - runs.begin());
}

nlohmann::json combine_runs(const std::vector<nlohmann::json>& runs) {
    if (runs.size() < 2) {
        return runs.empty() ? nlohmann::json() : runs.front();
    }
    const auto [eps_min, eps_median, eps_max] = spread_of(runs, elements_per_second);
    nlohmann::json out = runs[median_run(runs)];
    nlohmann::json repeat = {{"runs", runs.size()}};
    const auto record = [&](const std::string& name, double lo, double median, double hi) {
        repeat[name] = {{"min", lo},
                        {"median", median},
                        {"max", hi},
                        {"spread_pct", median > 0 ? (hi - lo) / median * 100.0 : 0.0}};
    };
    record("elements_per_second", eps_min, eps_median, eps_max);
    out["elements_per_second"] = eps_median;
    for (const char* p : {"p50", "p90", "p99", "p999"}) {
        const auto [lo, median, hi] = spread_of(
            runs, [&](const nlohmann::json& r) { return r["latency_ns"][p].get<double>(); });
        record(std::string("latency_") + p + "_ns", lo, median, hi);
        out["latency_ns"][p] = median;
    }
    out["repeat"] = std::move(repeat);
    return out;
}

std::vector<BenchDelta> compare_bench(const nlohmann::json& before, const nlohmann::json& now,
                                      double threshold_pct) {
    std::vector<BenchDelta> out;
    for (const auto& n : now) {
        const auto old = std::find_if(before.begin(), before.end(), [&](const nlohmann::json& b) {
            return b["flow"] == n["flow"];
        });
        if (old == before.end()) {
            continue;
        }
        // Throughput: lower is worse. Latency: higher is worse.
        const auto add = [&](std::string metric, double b, double a, bool higher_is_better) {
            BenchDelta d{n["flow"].get<std::string>(), std::move(metric), b, a, 0, false};
            if (b > 0) {
                d.change_pct = (higher_is_better ? (b - a) : (a - b)) / b * 100.0;
            }
            d.regression = d.change_pct > threshold_pct;
            out.push_back(std::move(d));
        };
        add("elements_per_second", (*old)["elements_per_second"].get<double>(),
            n["elements_per_second"].get<double>(), true);
        for (const char* p : {"p50", "p99"}) {
            add(std::string("latency_") + p + "_ns", (*old)["latency_ns"][p].get<double>(),
                n["latency_ns"][p].get<double>(), false);
        }
    }
    return out;
}

std::string format_deltas(const std::vector<BenchDelta>& deltas) {
    std::string out = fmt::format("  {:<16} {:<22} {:>14} {:>14} {:>9}\n", "flow", "metric",
                                  "before", "after", "worse by");
    for (const auto& d : deltas) {
        out += fmt::format("  {:<16} {:<22} {:>14.0f} {:>14.0f} {:>8.1f}%{}\n", d.flow, d.metric,
                           d.before, d.after, d.change_pct, d.regression ? "  REGRESSION" : "");
    }
    return out;
}

}  // namespace torvyn
