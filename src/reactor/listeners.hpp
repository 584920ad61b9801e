// The observers of one running flow, and what each listens to: fixed when
// the run starts, so an event nobody listens to costs the flow a test of a
// bit (no clock read, no counting). Used by the flow's thread only.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "torvyn/reactor/observer.hpp"

namespace torvyn::detail {

class Listeners {
public:
    void attach(const std::vector<FlowObserver*>& observers) {
        all_.clear();
        events_ = 0;
        for (FlowObserver* o : observers) {
            const std::uint32_t events = o->events();
            all_.emplace_back(o, events);
            events_ |= events;
        }
    }

    // Whether an observer listens to any of `events` (ObserverEvents).
    [[nodiscard]] bool wants(std::uint32_t events) const { return (events_ & events) != 0; }

    // Tells the observers that listen to `events`.
    template <class F>
    void notify(std::uint32_t events, F&& event) const {
        if (!wants(events)) {
            return;
        }
        for (const auto& [o, listens] : all_) {
            if ((listens & events) != 0) {
                event(*o);
            }
        }
    }

    // on_start and on_finish: every observer.
    template <class F>
    void notify_all(F&& event) const {
        for (const auto& [o, listens] : all_) {
            event(*o);
        }
    }

private:
    std::vector<std::pair<FlowObserver*, std::uint32_t>> all_;
    std::uint32_t events_ = 0;  // the union of their events()
};

}  // namespace torvyn::detail
