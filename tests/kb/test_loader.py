"""The loader proves what it can and fails loudly (conventions §3.3).

Every test builds a tiny inline definition (``toy_example_2000``: a synthetic instrument whose
numbers mean nothing) and breaks one thing; the error must name the file, the line and the path
inside the document, with the exact message.
"""

from __future__ import annotations

import pickle

import pytest

from mescc.errors import DefinitionError
from mescc.kb.loader import build_kb, check_instrument, parse_instrument

FILE = "instruments/toy_example_2000.yaml"

# Synthetic instrument for loader tests only (not a real instrument; numbers mean nothing).
TOY = """\
id: toy_example_2000
name: Toy example score
kind: score
outcome: survival
outcome_text: "Toy outcome"
direction: higher_is_better
reference: "synthetic test fixture"
citation:
  text: "Author A. Toy. J Example 2000;1:1-10."
  doi: "10.0000/example.2000.1"
  locator: "Table 1"
verification: secondary
verification_note: "synthetic test fixture"
total_range: [0, 3]
items:
  - factor: performance
    label: "ECOG"
    inputs: [ecog]
    categories:
      - {label: "ECOG 0-1", when: {ecog: {in: [0, 1]}}, points: 2}
      - {label: "ECOG 2-4", when: {ecog: {in: [2, 3, 4]}}, points: 0}
  - factor: visceral
    label: "Visceral metastases"
    inputs: [visceral_metastases]
    categories:
      - {label: "No", when: {visceral_metastases: {in: [false]}}, points: 1}
      - {label: "Yes", when: {visceral_metastases: {in: [true]}}, points: 0}
groups:
  - {label: "0-1", range: [0, 1], category: poor}
  - {label: "2-3", range: [2, 3], category: good}
"""

# Synthetic classification (one item, groups by category).
TOY_CLASS = """\
id: toy_grade_2000
name: Toy grade
kind: classification
outcome: compression
outcome_text: "Toy"
reference: "synthetic test fixture"
citation:
  text: "Author A. Toy grade. J Example 2000;1:1-10."
  pmid: "1"
  locator: "Figure 1"
verification: secondary
verification_note: "synthetic test fixture"
items:
  - factor: grade
    label: "Frankel"
    inputs: [frankel_grade]
    categories:
      - {label: "A-B", when: {frankel_grade: {in: [A, B]}}, points: null, group: "low"}
      - {label: "C-E", when: {frankel_grade: {in: [C, D, E]}}, points: null, group: "high"}
groups:
  - {label: "low", members: ["A-B"], category: low}
  - {label: "high", members: ["C-E"], category: high}
"""


def line_of(text: str, start: str) -> int:
    """1-based line of the first line that starts with ``start``."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith(start))


def load_error(text: str, file: str = FILE) -> DefinitionError:
    with pytest.raises(DefinitionError) as caught:
        build_kb([(file, text)])
    return caught.value


def test_toy_definition_loads() -> None:
    kb = build_kb([(FILE, TOY)])
    inst = kb["toy_example_2000"]
    assert inst.total_range == (0, 3)
    assert [g.label for g in inst.groups] == ["0-1", "2-3"]
    assert kb.version.startswith("2026.11+")


def test_classification_loads() -> None:
    kb = build_kb([("instruments/toy_grade_2000.yaml", TOY_CLASS)])
    assert kb["toy_grade_2000"].kind == "classification"


def test_coverage_gap() -> None:
    err = load_error(TOY.replace("in: [2, 3, 4]", "in: [2, 3]"))
    assert str(err) == f"{FILE}:20 items[0].categories: no category matches ecog=4"
    assert (err.file, err.line, err.path) == (FILE, 20, "items[0].categories")


def test_coverage_overlap() -> None:
    err = load_error(TOY.replace("in: [2, 3, 4]", "in: [1, 2, 3, 4]"))
    assert str(err) == (
        f"{FILE}:20 items[0].categories: ecog=1 matches more than one entry: "
        "['ECOG 0-1', 'ECOG 2-4']"
    )


def test_overlap_between_a_category_and_an_undefined_value() -> None:
    text = TOY.replace(
        '      - {label: "ECOG 2-4", when: {ecog: {in: [2, 3, 4]}}, points: 0}\n',
        '      - {label: "ECOG 2-4", when: {ecog: {in: [2, 3, 4]}}, points: 0}\n'
        "    undefined:\n"
        '      - {when: {ecog: {in: [4]}}, reason: "not scored"}\n',
    )
    err = load_error(text)
    assert str(err) == (
        f"{FILE}:20 items[0].categories: ecog=4 matches more than one entry: "
        "['ECOG 2-4', 'undefined[0]']"
    )


def test_undefined_values_close_a_gap() -> None:
    text = TOY.replace(
        '      - {label: "ECOG 2-4", when: {ecog: {in: [2, 3, 4]}}, points: 0}\n',
        '      - {label: "ECOG 2-3", when: {ecog: {in: [2, 3]}}, points: 0}\n'
        "    undefined:\n"
        '      - {when: {ecog: {in: [4]}}, reason: "ECOG 4 not scored by the source"}\n',
    )
    kb = build_kb([(FILE, text)])
    assert kb["toy_example_2000"].items[0].undefined[0].reason == "ECOG 4 not scored by the source"


def test_numeric_gap_at_a_cut_point() -> None:
    text = TOY.replace(
        """    inputs: [visceral_metastases]
    categories:
      - {label: "No", when: {visceral_metastases: {in: [false]}}, points: 1}
      - {label: "Yes", when: {visceral_metastases: {in: [true]}}, points: 0}""",
        """    inputs: [motor_deficit_days]
    categories:
      - {label: "> 14 days", when: {motor_deficit_days: {gt: 14}}, points: 1}
      - {label: "< 14 days", when: {motor_deficit_days: {lt: 14}}, points: 0}""",
    )
    err = load_error(text)
    assert str(err) == f"{FILE}:26 items[1].categories: no category matches motor_deficit_days=14.0"


def test_value_not_in_the_contract_domain() -> None:
    err = load_error(TOY.replace("in: [2, 3, 4]", "in: [2, 3, 4, 5]"))
    assert str(err) == (
        f"{FILE}:21 items[0].categories[1].when.ecog: 5 is not an allowed value of ecog; "
        "integer 0-4"
    )
    assert err.path == "items[0].categories[1].when.ecog"


def test_enum_value_not_in_the_contract_domain() -> None:
    text = TOY.replace(
        "{visceral_metastases: {in: [true]}}", '{visceral_metastases: {in: ["yes"]}}'
    )
    err = load_error(text)
    assert str(err) == (
        f"{FILE}:27 items[1].categories[1].when.visceral_metastases: 'yes' is not an allowed "
        "value of visceral_metastases; true or false"
    )


def test_enum_value_written_as_a_number_is_refused() -> None:
    text = TOY_CLASS.replace("frankel_grade", "escc_grade").replace(
        "in: [A, B]", 'in: ["0", "1a", "1b", "1c"]'
    ).replace("in: [C, D, E]", "in: [2, 3]")  # fmt: skip
    err = load_error(text, "instruments/toy_grade_2000.yaml")
    assert str(err) == (
        "instruments/toy_grade_2000.yaml:19 items[0].categories[1].when.escc_grade: "
        "2 is not an allowed value of escc_grade; one of 0, 1a, 1b, 1c, 2, 3 "
        '(write enum values as quoted text, e.g. "2")'
    )


def test_numeric_predicate_on_a_boolean_is_refused() -> None:
    err = load_error(
        TOY.replace("{visceral_metastases: {in: [true]}}", "{visceral_metastases: {ge: 1}}")
    )
    assert str(err) == (
        f"{FILE}:27 items[1].categories[1].when.visceral_metastases: "
        "visceral_metastases is not numeric; use in/not_in"
    )


def test_input_that_is_not_a_patient_key() -> None:
    err = load_error(TOY.replace("inputs: [ecog]", "inputs: [ecgo]").replace("{ecog:", "{ecgo:"))
    assert str(err) == f'{FILE}:18 items[0].inputs: "ecgo" is not a patient key'


def test_condition_on_an_input_the_item_does_not_declare() -> None:
    err = load_error(TOY.replace("inputs: [ecog]", "inputs: [kps]"))
    assert str(err) == f"{FILE}:16 items[0]: entry 0 reads 'ecog', which is not in inputs"


def test_reachable_maximum_differs_from_published_total() -> None:
    err = load_error(TOY.replace("points: 2}", "points: 3}"))
    assert str(err) == f"{FILE}:14 total_range: maximum total 4, published 3"
    assert err.path == "total_range"


def test_published_maximum_not_reachable() -> None:
    text = TOY.replace("total_range: [0, 3]", "total_range: [0, 4]").replace(
        '{label: "2-3", range: [2, 3]', '{label: "2-4", range: [2, 4]'
    )
    err = load_error(text)
    assert str(err) == f"{FILE}:14 total_range: maximum total 3, published 4"


def test_reachable_minimum_differs_from_published_total() -> None:
    text = TOY.replace("total_range: [0, 3]", "total_range: [1, 3]").replace(
        '{label: "0-1", range: [0, 1]', '{label: "1-1", range: [1, 1]'
    )
    err = load_error(text)
    assert str(err) == f"{FILE}:14 total_range: minimum total 0, published 1"


def test_group_with_no_achievable_total() -> None:
    text = (
        TOY.replace("points: 1}", "points: 2}")
        .replace("total_range: [0, 3]", "total_range: [0, 4]")
        .replace(
            '  - {label: "0-1", range: [0, 1], category: poor}\n'
            '  - {label: "2-3", range: [2, 3], category: good}\n',
            '  - {label: "0-0", range: [0, 0], category: poor}\n'
            '  - {label: "1-1", range: [1, 1], category: mid}\n'
            '  - {label: "2-4", range: [2, 4], category: good}\n',
        )
    )
    err = load_error(text)
    assert str(err) == f"{FILE}:30 groups[1]: group 1-1 contains no achievable total"


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("2 to 3", 'label "2 to 3" must be written lo-hi, e.g. "31-35"'),
        ("2-4", 'label "2-4" does not match range [2, 3]'),
        ("2–3", 'label "2–3" must be written lo-hi, e.g. "31-35"'),
        (">= 2", 'label ">= 2" must be written lo-hi, e.g. "31-35"'),
    ],
)
def test_group_label_must_be_lo_hi(label: str, message: str) -> None:
    err = load_error(
        TOY.replace('{label: "2-3", range: [2, 3]', f'{{label: "{label}", range: [2, 3]')
    )
    assert str(err) == f"{FILE}:30 groups[1]: {message}"


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        (
            '  - {label: "0-0", range: [0, 0], category: poor}\n'
            '  - {label: "2-3", range: [2, 3], category: good}\n',
            "totals [1] of the range 0-3 are in no group and not declared in unreachable_totals",
        ),
        (
            '  - {label: "0-2", range: [0, 2], category: poor}\n'
            '  - {label: "2-3", range: [2, 3], category: good}\n',
            "total 2 is in groups 0-2 and 2-3",
        ),
    ],
    ids=["hole", "overlap"],
)
def test_groups_must_tile_the_range(groups: str, message: str) -> None:
    text = TOY.split("groups:\n")[0] + "groups:\n" + groups
    err = load_error(text)
    assert err.detail == message
    # conventions §3.3: a failure names the file, the line and the path inside the document
    assert err.path == "groups", f"{err} does not name the path 'groups' (conventions §3.3)"
    assert err.line is not None and err.line >= line_of(text, "groups:"), str(err)
    assert str(err) == f"{FILE}:{err.line} groups: {message}"


def test_declared_unreachable_total_may_be_a_hole() -> None:
    # totals {0, 2, 3}: 1 cannot be reached and is declared so
    text = (
        TOY.replace("points: 1}", "points: 3}")
        .replace("points: 2}", "points: 0}")
        .replace("total_range: [0, 3]", "total_range: [0, 3]\nunreachable_totals: [1]")
    )
    text = text.replace(
        '  - {label: "0-1", range: [0, 1], category: poor}\n',
        '  - {label: "0-0", range: [0, 0], category: poor}\n',
    )
    kb = build_kb([(FILE, text)])
    assert kb["toy_example_2000"].unreachable_totals == (1,)


def test_missing_doi_pmid_and_identifier_note() -> None:
    err = load_error(TOY.replace('  doi: "10.0000/example.2000.1"\n', ""))
    assert str(err) == (
        f"{FILE}:9 citation: add citation.doi or citation.pmid (verified only), or an "
        "identifier_note saying why none is printed"
    )


@pytest.mark.parametrize(
    "identifier",
    ['  pmid: "12345678"\n', '  identifier_note: "DOI and PMID UNVERIFIED; not printed"\n'],
)
def test_pmid_or_identifier_note_suffices(identifier: str) -> None:
    kb = build_kb([(FILE, TOY.replace('  doi: "10.0000/example.2000.1"\n', identifier))])
    citation = next(iter(kb.instruments.values())).citation
    assert citation.doi is None
    assert citation.pmid or citation.identifier_note


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('  pmid: "PMID123"\n', "citation.pmid: pmid 'PMID123' must be digits"),
        ('  doi: "doi:10.1/x"\n', "citation.doi: doi 'doi:10.1/x' must start with '10.'"),
    ],
)
def test_malformed_identifier(line: str, message: str) -> None:
    err = load_error(TOY.replace('  doi: "10.0000/example.2000.1"\n', line))
    assert str(err) == f"{FILE}:10 {message}"


def test_bad_instrument_verification_label() -> None:
    err = load_error(TOY.replace("verification: secondary", "verification: verified"))
    assert str(err) == (
        f"{FILE}:12 verification: Input should be 'primary', 'secondary', 'site-supplied', "
        "'site-derived' or 'unverified'"
    )


def test_bad_item_verification_label() -> None:
    err = load_error(
        TOY.replace("    inputs: [ecog]\n", "    inputs: [ecog]\n    verification: VERIFIED-P\n")
    )
    assert str(err) == (
        f"{FILE}:19 items[0].verification: Input should be 'primary', 'secondary', "
        "'site-supplied', 'site-derived' or 'unverified'"
    )


def test_bad_category_verification_label() -> None:
    err = load_error(TOY.replace("points: 2}", "points: 2, verification: checked}"))
    assert str(err).startswith(f"{FILE}:20 items[0].categories[0].verification: Input should be")


def test_id_must_equal_file_stem() -> None:
    err = load_error(TOY, "instruments/toy_other_2000.yaml")
    assert str(err) == (
        'instruments/toy_other_2000.yaml:1 id: id "toy_example_2000" must equal the file stem '
        '"toy_other_2000"'
    )


def test_id_shape() -> None:
    text = TOY.replace("id: toy_example_2000", "id: ToyExample")
    err = load_error(text, "instruments/ToyExample.yaml")
    assert str(err) == (
        "instruments/ToyExample.yaml:1 id: id 'ToyExample' must look like "
        "<author or name>_<topic>_<year>"
    )


def test_unknown_field_is_refused() -> None:
    err = load_error(TOY.replace("kind: score", "kind: score\ncolour: red"))
    assert str(err) == f"{FILE}:4 colour: Extra inputs are not permitted"


@pytest.mark.parametrize(
    ("broken", "line"),
    [
        (TOY.replace("kind: score", "kind: [score"), 4),
        (TOY.replace("  - factor: visceral", "  - factor: visceral\n   bad: indent"), 23),
    ],
    ids=["flow", "indent"],
)
def test_malformed_yaml_names_file_and_line(broken: str, line: int) -> None:
    err = load_error(broken)
    assert err.line == line
    assert err.file == FILE
    assert str(err).startswith(f"{FILE}:{line}: not valid YAML: ")


def test_a_definition_must_be_a_mapping() -> None:
    err = load_error("- a\n- b\n")
    assert str(err) == f"{FILE}:1: a definition file must be a mapping"


def test_prognosis_needs_its_basis() -> None:
    err = load_error(TOY.replace("category: good}", "category: good, prognosis: poor}"))
    assert str(err) == f"{FILE}:30 groups[1]: prognosis needs a prognosis_basis sentence"


def test_classification_category_must_name_a_group() -> None:
    err = load_error(
        TOY_CLASS.replace('group: "high"', 'group: "severe"'), "instruments/toy_grade_2000.yaml"
    )
    assert str(err) == (
        'instruments/toy_grade_2000.yaml:19 items[0].categories[1].group: group "severe" is '
        "not a group label"
    )


def test_points_from_an_unknown_instrument() -> None:
    err = load_error(TOY.replace("kind: score", "kind: score\npoints_from: nothing_here_2000"))
    assert str(err) == f'{FILE} points_from: "nothing_here_2000" is not an instrument'


def test_a_broken_file_stops_the_whole_load() -> None:
    good = TOY.replace("toy_example_2000", "toy_good_2000")
    with pytest.raises(DefinitionError) as caught:
        build_kb(
            [
                ("instruments/toy_good_2000.yaml", good),
                (FILE, TOY.replace("points: 2}", "points: 3}")),
            ]
        )
    assert caught.value.file == FILE


def test_duplicate_id() -> None:
    with pytest.raises(DefinitionError) as caught:
        build_kb([(FILE, TOY), ("other/toy_example_2000.yaml", TOY)])
    assert str(caught.value) == 'other/toy_example_2000.yaml id: duplicate id "toy_example_2000"'


def test_parse_and_check_separately() -> None:
    inst = parse_instrument(TOY.replace("points: 2}", "points: 3}"), FILE)
    with pytest.raises(DefinitionError) as caught:
        check_instrument(inst, FILE, TOY.replace("points: 2}", "points: 3}"))
    assert str(caught.value) == f"{FILE}:14 total_range: maximum total 4, published 3"
    # without the text the path is still named
    with pytest.raises(DefinitionError) as caught:
        check_instrument(inst, FILE)
    assert str(caught.value) == f"{FILE} total_range: maximum total 4, published 3"


def test_definition_error_pickles() -> None:
    err = load_error(TOY.replace("points: 2}", "points: 3}"))
    again = pickle.loads(pickle.dumps(err))
    assert isinstance(again, DefinitionError)
    assert (again.file, again.line, again.path, str(again)) == (
        err.file,
        err.line,
        err.path,
        str(err),
    )


def test_skeleton_needs_no_points() -> None:
    text = TOY.replace("points: 2}", "points: null}").replace("points: 0}", "points: null}")
    kb = build_kb([(FILE, text)])
    assert kb["toy_example_2000"].is_skeleton


def test_knowledge_base_version_changes_with_the_definitions() -> None:
    a = build_kb([(FILE, TOY)]).version
    b = build_kb([(FILE, TOY.replace("Toy outcome", "Toy outcome, reworded"))]).version
    assert a != b
    assert a == build_kb([(FILE, TOY)]).version
