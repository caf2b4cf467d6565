// Planner events widget: replaced by the widget implementation.
