-- Each landed batch and whether the warehouse may use it. A delivery (the batches one export run
-- handed over) is used all or nothing: only when every batch in it loaded and passed its
-- expectations. An unchecked batch (no verdict yet) has not passed.
with

batches as (
    select * from {{ source('ops', 'ingest_batches') }}
),

deliveries as (
    select
        delivery_id,
        bool_and(status = 'loaded' and coalesce(expectations_passed, false)) as is_usable
    from batches
    group by delivery_id
)

select
    batches.batch_id,
    batches.delivery_id,
    batches.source_format,
    batches.status,
    batches.expectations_passed,
    batches.started_at,
    deliveries.is_usable
from batches
inner join deliveries on batches.delivery_id = deliveries.delivery_id
where batches.status = 'loaded'
