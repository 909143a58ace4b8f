"""Write the small current-layout CDE sample beside this file (run once; the CSVs are committed).

The headers are the FBI Crime Data Explorer's current layout verbatim (lower case; offenses
carry offense_code; victims, offenders and arrestees carry age_id and age_num, where age_num may
be an age code). The rows are fictional: ten incidents of one agency, chosen to cover every age
code (NN, NB, BB, 00, NS, 99), nameless victims of the same age, a business victim, a juvenile,
a sensitive offense, offenders and arrestees.

    python tests/data/nibrs-cde-2021/make_sample.py
"""

from __future__ import annotations

import csv
from pathlib import Path

HERE = Path(__file__).resolve().parent
YEAR = "2021"
AGENCY = "501"
ORI = "AZ0109900"

TABLES: dict[str, tuple[list[str], list[list[str]]]] = {}


def table(name: str, header: str, rows: list[list[str]]) -> None:
    TABLES[name] = (header.split(","), rows)


table(
    "NIBRS_incident.csv",
    "data_year,agency_id,incident_id,nibrs_month_id,cargo_theft_flag,submission_date,incident_date,"
    "report_date_flag,incident_hour,cleared_except_id,cleared_except_date,incident_status,data_home,"
    "orig_format,did",
    [
        [
            YEAR,
            AGENCY,
            str(9_000_000 + n),
            "7700",
            "N",
            f"2021-04-{n + 10:02d}",
            f"2021-03-{n + 1:02d}",
            "",
            str((n * 5) % 24),
            "6" if n != 9 else "2",
            "",
            "0",
            "C",
            "F",
            str(88_000 + n),
        ]
        for n in range(1, 11)
    ],
)
OFFENSES = [
    # (offense_id, incident, code, attempt)
    ("71001", 1, "23H", "C"),
    ("71002", 2, "13A", "C"),
    ("71003", 3, "220", "C"),
    ("71004", 4, "290", "C"),
    ("71005", 5, "11A", "C"),
    ("71006", 5, "13B", "C"),
    ("71007", 6, "26A", "A"),
    ("71008", 7, "120", "C"),
    ("71009", 8, "23F", "C"),
    ("71010", 9, "13C", "C"),
    ("71011", 10, "35A", "C"),
]
table(
    "NIBRS_OFFENSE.csv",
    "data_year,offense_id,incident_id,offense_code,attempt_complete_flag,location_id,num_premises_entered,"
    "method_entry_code",
    [[YEAR, oid, str(9_000_000 + inc), code, flag, "20", "", ""] for oid, inc, code, flag in OFFENSES],
)
table(
    "NIBRS_OFFENSE_TYPE.csv",
    "offense_code,offense_name,crime_against,ct_flag,hc_flag,hc_code,offense_category_name,offense_group",
    [
        ["23H", "All Other Larceny", "Property", "Y", "N", "", "Larceny/Theft Offenses", "A"],
        ["13A", "Aggravated Assault", "Person", "N", "Y", "04", "Assault Offenses", "A"],
        [
            "220",
            "Burglary/Breaking & Entering",
            "Property",
            "Y",
            "Y",
            "05",
            "Burglary/Breaking & Entering",
            "A",
        ],
        [
            "290",
            "Destruction/Damage/Vandalism of Property",
            "Property",
            "N",
            "Y",
            "11",
            "Destruction/Damage/Vandalism of Property",
            "A",
        ],
        ["11A", "Rape", "Person", "N", "Y", "02", "Sex Offenses", "A"],
        ["13B", "Simple Assault", "Person", "N", "Y", "09", "Assault Offenses", "A"],
        ["26A", "False Pretenses/Swindle/Confidence Game", "Property", "Y", "Y", "", "Fraud Offenses", "A"],
        ["120", "Robbery", "Property", "Y", "Y", "03", "Robbery", "A"],
        ["23F", "Theft From Motor Vehicle", "Property", "Y", "N", "", "Larceny/Theft Offenses", "A"],
        ["13C", "Intimidation", "Person", "N", "Y", "10", "Assault Offenses", "A"],
        ["35A", "Drug/Narcotic Violations", "Society", "N", "Y", "", "Drug/Narcotic Offenses", "A"],
    ],
)
VICTIMS = [
    # (victim_id, incident, seq, victim_type_id, age_id, age_num, offense ids)
    ("61001", 1, "1", "4", "", "34", ["71001"]),
    ("61002", 2, "1", "4", "1", "NN", ["71002"]),
    ("61003", 2, "2", "4", "2", "NB", ["71002"]),
    ("61004", 3, "1", "4", "3", "BB", ["71003"]),
    ("61005", 4, "1", "4", "103", "00", ["71004"]),
    ("61006", 4, "2", "4", "", "NS", ["71004"]),
    ("61007", 5, "1", "4", "", "99", ["71005", "71006"]),
    ("61008", 6, "1", "1", "", "", ["71007"]),
    ("61009", 7, "1", "4", "", "25", ["71008"]),
    ("61010", 7, "2", "4", "", "25", ["71008"]),
    ("61011", 7, "3", "4", "", "40", ["71008"]),
    ("61012", 8, "1", "4", "", "17", ["71009"]),
    ("61013", 9, "1", "4", "", "52", ["71010"]),
    ("61014", 10, "1", "8", "", "", ["71011"]),
]
table(
    "NIBRS_VICTIM.csv",
    "data_year,victim_id,incident_id,victim_seq_num,victim_type_id,assignment_type_id,activity_type_id,"
    "outside_agency_id,age_id,age_num,sex_code,race_id,ethnicity_id,resident_status_code,age_range_low_num,"
    "age_code_range_high",
    [
        [YEAR, vid, str(9_000_000 + inc), seq, vtype, "", "", "", age_id, age_num, "F", "1", "2", "R", "", ""]
        for vid, inc, seq, vtype, age_id, age_num, _ in VICTIMS
    ],
)
table(
    "NIBRS_VICTIM_TYPE.csv",
    "victim_type_id,victim_type_code,victim_type_name",
    [
        ["1", "B", "Business"],
        ["2", "F", "Financial Institution"],
        ["3", "G", "Government"],
        ["4", "I", "Individual"],
        ["5", "L", "Law Enforcement Officer"],
        ["6", "O", "Other"],
        ["7", "R", "Religious Organization"],
        ["8", "S", "Society/Public"],
        ["9", "U", "Unknown"],
    ],
)
table(
    "NIBRS_VICTIM_OFFENSE.csv",
    "data_year,victim_id,offense_id",
    [[YEAR, vid, oid] for vid, *_, offenses in VICTIMS for oid in offenses],
)
OFFENDERS = [
    # (offender_id, incident, seq, age_id, age_num)
    ("51001", 1, "1", "", "28"),
    ("51002", 2, "1", "103", "00"),
    ("51003", 5, "1", "", "NS"),
    ("51004", 7, "1", "", "19"),
    ("51005", 7, "2", "", "22"),
    ("51006", 9, "1", "", "45"),
    ("51007", 3, "0", "", ""),
]
table(
    "NIBRS_OFFENDER.csv",
    "data_year,offender_id,incident_id,offender_seq_num,age_id,age_num,sex_code,race_id,ethnicity_id,"
    "age_range_low_num,age_range_high_num",
    [
        [YEAR, oid, str(9_000_000 + inc), seq, age_id, age_num, "M", "1", "2", "", ""]
        for oid, inc, seq, age_id, age_num in OFFENDERS
    ],
)
table(
    "NIBRS_VICTIM_OFFENDER_REL.csv",
    "data_year,victim_id,offender_id,relationship_id,nibrs_victim_offender_id",
    [[YEAR, "61013", "51006", "3", "33000001"], [YEAR, "61001", "51001", "24", "33000002"]],
)
table(
    "NIBRS_RELATIONSHIP.csv",
    "relationship_id,relationship_code,relationship_name",
    [["3", "BG", "Victim Was Boyfriend/Girlfriend"], ["24", "ST", "Victim Was Stranger"]],
)
table(
    "NIBRS_ARRESTEE.csv",
    "data_year,arrestee_id,incident_id,arrestee_seq_num,arrest_date,arrest_type_id,multiple_indicator,"
    "offense_code,age_id,age_num,sex_code,race_id,ethnicity_id,resident_code,under_18_disposition_code,"
    "clearance_ind,age_range_low_num,age_range_high_num",
    [
        [
            YEAR,
            "41001",
            "9000007",
            "1",
            "2021-03-09",
            "1",
            "N",
            "120",
            "",
            "19",
            "M",
            "1",
            "2",
            "R",
            "",
            "",
            "",
            "",
        ],
        [
            YEAR,
            "41002",
            "9000010",
            "1",
            "2021-03-12",
            "2",
            "N",
            "35A",
            "",
            "NS",
            "M",
            "1",
            "2",
            "R",
            "",
            "",
            "",
            "",
        ],
    ],
)
table(
    "NIBRS_AGE.csv",
    "age_id,age_code,age_name",
    [
        ["1", "NN", "Under 24 Hours"],
        ["2", "NB", "1-6 Days Old"],
        ["3", "BB", "7-364 Days Old"],
        ["103", "00", "Unknown"],
    ],
)
table(
    "agencies.csv",
    "yearly_agency_id,agency_id,data_year,ori,legacy_ori,ucr_agency_name,ncic_agency_name,pub_agency_name,"
    "state_abbr,agency_type_name",
    [["5012021", AGENCY, YEAR, ORI, ORI, "SONORA VISTA", "SONORA VISTA PD", "Sonora Vista", "AZ", "City"]],
)


def main() -> None:
    for name, (header, rows) in TABLES.items():
        with (HERE / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)


if __name__ == "__main__":
    main()
