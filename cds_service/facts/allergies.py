"""AllergyIntolerance: hypersensitivity to anakinra, its inactive ingredients or E. coli-derived proteins, and drug
intolerances (with whether the intolerance is only to the route: needles, injections)."""

from __future__ import annotations

from .fhir_reading import codings, concept_text, dicts, ref_of, status_code
from .model import AllergyFact
from .terminology import valuesets as vs


def read_allergies(resources: list[dict]) -> tuple[AllergyFact, ...]:
    out: list[AllergyFact] = []
    names = vs.data()["allergens"]
    for res in resources:
        verification = status_code(res.get("verificationStatus"))
        clinical = status_code(res.get("clinicalStatus"))
        if verification == "entered-in-error":
            continue
        codes = codings(res.get("code"))
        text = concept_text(res.get("code"))
        substance = "other"
        if any(vs.is_anakinra_code(c.system, c.code) for c in codes) or vs.name_mentions(text, names["anakinra_names"]):
            substance = "anakinra"
        elif vs.name_mentions(text, names["ecoli_protein_names"]):
            substance = "ecoli-protein"
        elif vs.name_mentions(text, names["excipient_names"]):
            substance = "kineret-excipient"
        else:
            drug = None
            for c in codes:
                drug = vs.drug_for_code(c.system, c.code)
                if drug:
                    break
            drug = drug or vs.drug_for_name(text)
            if drug:
                substance = drug
        reactions = []
        for r in dicts(res.get("reaction")):
            for m in dicts(r.get("manifestation")):
                t = concept_text(m)
                if t:
                    reactions.append(t)
            if isinstance(r.get("description"), str):
                reactions.append(r["description"])
        notes = " ".join(n["text"] for n in dicts(res.get("note")) if isinstance(n.get("text"), str))
        kind = res.get("type") if res.get("type") in ("allergy", "intolerance") else "allergy"
        preferred = vs.ra_preferred_product(substance, text) if substance in (
            "adalimumab", "etanercept", "upadacitinib", "tofacitinib") else None
        out.append(AllergyFact(
            substance=substance, label=text or (codes[0].label() if codes else "unnamed allergen"),
            source=ref_of(res), kind=kind, active=clinical in (None, "active"),
            refuted=verification == "refuted",
            criticality=res.get("criticality") if isinstance(res.get("criticality"), str) else None,
            reactions=tuple(reactions), preferred_product=preferred,
            classes=vs.drug_classes(substance),
            unconfirmed=verification in ("unconfirmed", "presumed", "provisional"),
            route_only=vs.is_route_intolerance(" ".join([text, *reactions, notes])),
        ))
    return tuple(out)
