"""The promtool test cases of every alert, generated from the bundle configuration like the rules
(`suite`: the file; `cases`: the vocabulary; one module of scenarios per theme). Test tooling: it
stays in the checkout, out of the wheel and the image."""
