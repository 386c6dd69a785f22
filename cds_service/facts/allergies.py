"""AllergyIntolerance: hypersensitivity to anakinra, its inactive ingredients or E. coli-derived proteins, and drug
intolerances (with whether the intolerance is only to the route: needles, injections).

precautions.contraindication: "Persons with a known hypersensitivity to E. coli-derived proteins or in those known
to have a hypersensitivity to the active or inactive ingredients". An allergen is not only in
`AllergyIntolerance.code`: a record against filgrastim whose `reaction.substance` says "E. coli-derived protein" is
a hypersensitivity to E. coli-derived proteins. Every part is read: the code (codings and text), every
`reaction.substance` (codings and text), and the manifestations, descriptions and notes, with the negation reader
(facts/text_evidence.py): "tolerated pegfilgrastim without reaction" or "not related to E. coli proteins" names
nothing, and a note names an allergen only in a sentence about a reaction. Refuted and entered-in-error records
never count; an allergen named only as a possibility ("possible reaction to polysorbate") is kept as unconfirmed
(the policy asks for clarification instead of counting or ignoring it).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from . import text_evidence as te
from .fhir_json import codings, concept_text, dicts, ref_of, status_code, str_or_none
from .model import AllergyFact
from .terminology.codes import drug_classes, drug_for_code, is_anakinra_code
from .terminology.loader import data
from .terminology.names import drug_for_name, preferred_product_drugs, ra_preferred_product
from .text_statements import is_route_intolerance

_UNCONFIRMED = ("unconfirmed", "presumed", "provisional")


@lru_cache(maxsize=1)
def _note_rules() -> dict[str, tuple[te.Rule, ...]]:
    """Per allergen group, a rule: the group's name and a reaction word in one sentence of a note."""
    names = data()["allergens"]
    reaction = (
        r"\b(react\w*|allerg\w*|hypersensitiv\w*|intoleran\w*|sensitiv\w*|anaphyla\w*|angioedema|urticaria|"
        r"hives|rash)\b"
    )

    def group(*keys: str) -> tuple[te.Rule, ...]:
        phrases = sorted({p.lower() for k in keys for p in names[k]}, key=len, reverse=True)
        alternation = "|".join(te._bounded(p) for p in phrases)
        return ({"all": [alternation, reaction]},)

    return {
        "anakinra": group("anakinra_names"),
        "ecoli": group("ecoli_protein_names", "ecoli_expressed_products"),
        "excipient": group("excipient_names"),
    }


def _state(allergen_texts: list[str], note_text: str, names: list[str], note_rule: tuple[te.Rule, ...]) -> str | None:
    """'affirmed' / 'uncertain' / None: how the allergen fields (code text, reaction substances) and the notes name
    one of `names`. Negated mentions name nothing."""
    states = set()
    for t in allergen_texts:
        st = te.status(te.mentions(t, names))
        if st is not None:
            states.add(st)
    for m in te.rule_mentions(note_text, note_rule):
        states.add(m.status)
    if te.AFFIRMED in states or te.HISTORICAL in states:  # a past reaction is a known hypersensitivity
        return te.AFFIRMED
    if te.UNCERTAIN in states:
        return te.UNCERTAIN
    return None


def _hypersensitivity_reactions(reactions: list[str]) -> bool:
    words = data()["allergens"]["hypersensitivity_words"]
    return any(te.affirms(r, words) for r in reactions)


def read_allergies(resources: list[dict[str, Any]]) -> tuple[AllergyFact, ...]:
    out: list[AllergyFact] = []
    names = data()["allergens"]
    rules = _note_rules()
    for res in resources:
        verification = status_code(res.get("verificationStatus"))
        clinical = status_code(res.get("clinicalStatus"))
        if verification == "entered-in-error":
            continue
        codes = list(codings(res.get("code")))
        text = concept_text(res.get("code"))
        substance_codes = []
        substance_texts = []
        reactions: list[str] = []
        for r in dicts(res.get("reaction")):
            substance_codes.extend(codings(r.get("substance")))
            st = concept_text(r.get("substance"))
            if st:
                substance_texts.append(st)
            for m in dicts(r.get("manifestation")):
                t = concept_text(m)
                if t:
                    reactions.append(t)
            if isinstance(r.get("description"), str):
                reactions.append(r["description"])
        notes = " \n".join(n["text"] for n in dicts(res.get("note")) if isinstance(n.get("text"), str))
        # Manifestation and description text are read like notes (a reaction named there: "hives to E. coli
        # derived protein"); the allergen fields are read as naming the allergen.
        free_text = "\n".join([notes, *reactions])
        allergen_texts = [t for t in (text, *substance_texts) if t]
        all_codes = codes + list(substance_codes)
        kind = "intolerance" if res.get("type") == "intolerance" else "allergy"  # AllergyIntolerance.type

        drug = None
        for c in all_codes:
            drug = drug_for_code(c.system, c.code)
            if drug:
                break
        drug = drug or drug_for_name(text) or next((d for d in map(drug_for_name, substance_texts) if d), None)

        ana = (
            "affirmed"
            if any(is_anakinra_code(c.system, c.code) for c in all_codes)
            else _state(allergen_texts, free_text, names["anakinra_names"], rules["anakinra"])
        )
        ecoli = _state(allergen_texts, free_text, names["ecoli_protein_names"], rules["ecoli"])
        if ecoli is None:
            product = _state(allergen_texts, "", names["ecoli_expressed_products"], ())
            # An E. coli-expressed product (filgrastim ...) is an E. coli-derived protein; an intolerance of it whose
            # reactions name no hypersensitivity (bone pain) is not a hypersensitivity.
            if product and not (kind == "intolerance" and reactions and not _hypersensitivity_reactions(reactions)):
                ecoli = product
            elif free_text:
                ecoli = _state([], free_text, names["ecoli_expressed_products"], rules["ecoli"])
        excipient = _state(allergen_texts, free_text, names["excipient_names"], rules["excipient"])

        substance, hedged = "other", False
        for key, state in (("anakinra", ana), ("ecoli-protein", ecoli), ("kineret-excipient", excipient)):
            if state is not None:
                substance, hedged = key, state != te.AFFIRMED
                break
        else:
            if drug:
                substance = drug
        label = text or (codes[0].label() if codes else "") or (substance_texts[0] if substance_texts else "")
        extra = [t for t in substance_texts if t and t != label]
        if extra:
            label = (label + " " if label else "") + "(reaction substance: " + "; ".join(extra) + ")"
        preferred = (
            ra_preferred_product(drug, " ".join([text, *substance_texts]))
            if drug in preferred_product_drugs()
            else None
        )
        out.append(
            AllergyFact(
                substance=substance,
                label=label or "unnamed allergen",
                source=ref_of(res),
                kind=kind,
                active=clinical in (None, "active"),
                refuted=verification == "refuted",
                criticality=str_or_none(res.get("criticality")),
                reactions=tuple(reactions),
                preferred_product=preferred,
                classes=drug_classes(drug or substance),
                unconfirmed=verification in _UNCONFIRMED or hedged,
                route_only=is_route_intolerance(" ".join([text, *reactions, notes])),
            )
        )
    return tuple(out)
