"""The documentation form, without Flask: any R4 Questionnaire with a pre-filled QuestionnaireResponse.

- `questionnaire_items`: the Questionnaire read into `FormItem`s (answer options resolved from the
  ValueSets given beside it).
- `answers`: answer values, the pre-filled answers by linkId, and `enableWhen`.
- `submission`: a submitted HTML form read and validated against the items (server-side, whatever
  the browser did).
- `response_builder`: the completed QuestionnaireResponse (DTR `information-origin` on every answer).
- `view_model`: what the template shows for each item.
- `links`: the signed, short-lived link to the form.
"""
