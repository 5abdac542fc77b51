"""Analysis: pure functions over what runs leave behind (no sockets, no plotting).

    results    the state log, finals and summary.json of one run (load_run, summarize)
    meta       the run's metadata block of summary.json (scenario, peers, version)
    dayseries  one row per tick of grid-wide power figures, from the state log
    compare    two runs' summaries side by side
    measure    a finished run measured per role (rates, CPU, memory, wire, lag)
    bound      which resource binds first as the peers grow (scale sweep)
    shard      when to shard: the tracker cost model and the trackers a target rate needs
"""
