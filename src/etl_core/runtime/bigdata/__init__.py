"""The bigdata strategy: a job's plan run on Ray, partitioned, with the components' own code.

    validation.py  which types have a distributed form (the planner asks; no Ray import)
    layout.py      the plan cut into segments (a head and the narrow components after it) and driver components
    partitions.py  source partitions: files, directories, globs, byte ranges of large CSV/JSON-lines files
    prepare.py     what an attempt reads and writes: directory targets, source partitions
    builder.py     the description of each partition task (components, edges, exits, shuffles)
    segment.py     one partition of a segment, run by the components' coroutines (inside a Ray task)
    tasks.py       the Ray generator task streaming a partition's output to the driver
    hashing.py     shuffle buckets (stable across processes) and the aggregation's group order
    outputs.py     directory outputs: staged part files, published at the commit point
    cluster.py     joining ETL_RAY_ADDRESS, or starting a local Ray instance once per process
    driver.py      the components that run once, over all the data, in this process
    runner.py      one attempt on the driver (the executor's strategy hook): scheduling, feeding, publishing

Nothing here imports Ray at module level: the engine imports and runs without it. See docs/scaling.md.
"""
