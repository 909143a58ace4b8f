select
    invitation_id,
    victim_key,
    report_number,
    experiment as experiment_name,
    arm,
    channel,
    language,
    created_at as invited_at,
    first_opened_at,
    completed_at
from {{ source('ops', 'survey_invitations') }}
