select channel, address, opted_out_at, source from {{ source('ops', 'opt_outs') }}
