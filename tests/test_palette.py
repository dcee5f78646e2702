from emviz.palette import COMPONENT_COLORS, component_color, rgba


def test_component_colors_are_distinct_and_wrap():
    assert len(set(COMPONENT_COLORS)) == len(COMPONENT_COLORS)
    assert component_color(0) == component_color(len(COMPONENT_COLORS))


def test_rgba():
    assert rgba("#0072B2", 0.5) == "rgba(0,114,178,0.5)"
