// The test plugin's sidebar module.
export function render({ name, panel, section, t }) {
  return section(name, t("sidebar_plugin.title"));
}
