{{ config(materialized='table') }}
-- The reports an incremental run rebuilds: those with rows (landed or quarantined) in a delivery
-- one of whose batches settled (loaded, or got its expectations verdict) since the last
-- successful transform (var since_settled_seq). Computed once per run, so every incremental
-- model filters on a small table instead of scanning raw again. Empty on a full build (var
-- since_settled_seq is none), when every model rebuilds everything.
with

batches as (
    select * from {{ source('ops', 'ingest_batches') }}
),

settled as (
    select delivery_id from batches
    {%- if var('since_settled_seq', none) is not none %}
    where settled_seq > {{ var('since_settled_seq') }}
    {%- else %}
    where false
    {%- endif %}
),

changed_batches as (
    select batch_id from batches
    where delivery_id in (select settled.delivery_id from settled)
),

-- A lower bound lets each raw table's BRIN index on batch_id skip the history.
first_changed as (
    select coalesce(min(batch_id), 9223372036854775807) as batch_id from changed_batches
),

changed as (
    {%- for table in ['incidents', 'offenses', 'persons', 'cad_calls'] %}
    select btrim(report_number) as report_number
    from {{ source('raw', table) }}
    where batch_id >= (select first_changed.batch_id from first_changed)
        and batch_id in (select changed_batches.batch_id from changed_batches)
    union
    {%- endfor %}
    select btrim(raw_row ->> 'report_number') as report_number
    from {{ source('ops', 'quarantine') }}
    where batch_id in (select changed_batches.batch_id from changed_batches)
)

select distinct report_number
from changed
where report_number is not null
