"""Extensions of the step that processes switch on with camunda:properties (app.cases.hooks):
the park register and expert draws, the audit agency register, one case per listed item, regions,
confidential readers. Each is independent of the others."""
