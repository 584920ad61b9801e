// The seam between the scheduler and what it drives. Every node of a flow
// is a Stage: a GuestStage calls a WebAssembly component through the engine;
// a native stage is host code (connectors, test doubles). The scheduler,
// queues, policies and accounting know only this interface, so they run and
// are tested without a Wasm engine.
//
// Threading: a stage is called by its flow's thread only.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "torvyn/core/call.hpp"
#include "torvyn/resources/element.hpp"

namespace torvyn {

class Stage {
public:
    Stage() = default;
    virtual ~Stage() = default;
    Stage(const Stage&) = delete;
    Stage& operator=(const Stage&) = delete;

    // Before the first element, with the node's `config`; after the last.
    virtual CallResult init(std::string_view config) = 0;
    virtual CallResult teardown() = 0;

    // The calls of each role (core/role.hpp). A stage implements those of its
    // role; the others refuse (CallStatus::internal). What a stage produces
    // is already in the host's hands (in transit, one reference); what it is
    // lent (`in`) stays the host's.
    virtual CallResult pull(Produced& out);                           // source; none: exhausted
    virtual CallResult notify(bool pause);                            // source
    virtual CallResult process(const ElementRef& in, Produced& out);  // processor; none: dropped
    virtual CallResult push(const ElementRef& in, bool& pause);       // sink
    virtual CallResult complete();                                    // sink
    virtual CallResult accept(const ElementRef& in, bool& accepted);  // filter
    virtual CallResult ports(std::vector<std::string>& names);        // router
    virtual CallResult route(const ElementRef& in, std::vector<std::string>& ports);  // router
    virtual CallResult ingest(const ElementRef& in, Produced& out);                   // aggregator
    virtual CallResult flush(std::vector<Produced>& out);                             // aggregator

    // After a call left the stage unusable (trap, deadline, limit): a fresh
    // start, init included, when the stage can have one. The default cannot.
    virtual CallResult restart(std::string_view config);

    // The run is over: let go of what the stage holds (an instance, output
    // not yet written). Called once, after teardown.
    virtual void close() {}
};

}  // namespace torvyn
