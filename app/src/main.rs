//! The SPA's entry point: mounts [`edgeward_app::App`] on `<body>`.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(edgeward_app::App);
}
