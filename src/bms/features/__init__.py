"""Features block: from canonical telemetry to one feature frame per equipment.

Modules: ``roles`` (role maps), ``resample`` (long -> wide, regular step), ``quality`` (data-
quality flags), ``states`` (operating states, condition clusters), ``physics`` (residuals per
equipment kind), ``rolling`` (window statistics), ``pipeline`` (``build_features`` and the
scikit-learn transformers), ``catalog`` (the glossary of feature names and units). See
``docs/features.md``.
"""
