//! Commands that run programs, and the one way a template must not reach them.
//!
//! Templated values reach programs as separate arguments, never pasted into a script: a value
//! such as `; rm -rf ~` is then data, not code. A list like `[sh, -c, "grep {{ x }} f"]` keeps
//! the letter of that rule (each element is one argument) but breaks its purpose, because the
//! shell runs its `-c` argument as code. This module finds such arguments.

/// Programs that run one argument as code, and the flags that introduce it.
const SCRIPT_FLAGS: &[(&str, &[&str])] = &[
    ("sh", &["-c"]),
    ("bash", &["-c"]),
    ("dash", &["-c"]),
    ("zsh", &["-c"]),
    ("ksh", &["-c"]),
    ("ash", &["-c"]),
    ("fish", &["-c", "--command"]),
    ("cmd", &["/c", "/C", "/k", "/K"]),
    ("cmd.exe", &["/c", "/C", "/k", "/K"]),
    ("powershell", &["-c", "-Command", "-command"]),
    ("pwsh", &["-c", "-Command", "-command"]),
    ("python", &["-c"]),
    ("python3", &["-c"]),
    ("node", &["-e", "--eval", "-p", "--print"]),
    ("perl", &["-e", "-E"]),
    ("ruby", &["-e"]),
    ("php", &["-r"]),
];

/// Whether a string holds template syntax.
pub fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%")
}

/// The position of an argument that a shell or interpreter runs as code and that holds a
/// template, such as the third element of `[bash, -lc, "echo {{ x }}"]`.
pub fn templated_script(argv: &[&str]) -> Option<usize> {
    // `env NAME=value … program` runs the program that follows its assignments.
    let mut start = 0;
    if argv
        .first()
        .is_some_and(|program| basename(program) == "env")
    {
        start = 1 + argv[1..]
            .iter()
            .take_while(|arg| arg.contains('=') || arg.starts_with('-'))
            .count();
    }
    let program = basename(argv.get(start)?);
    let (_, flags) = SCRIPT_FLAGS.iter().find(|(name, _)| *name == program)?;
    let is_shell = flags.contains(&"-c");
    let flag_at = argv[start + 1..].iter().position(|arg| {
        flags.contains(arg)
            // Shells also take `-c` among combined flags: `-lc`, `-ec`, `-xec`.
            || (is_shell && arg.starts_with('-') && !arg.starts_with("--") && arg.ends_with('c') && arg.len() <= 5)
    })?;
    let script_at = start + 1 + flag_at + 1;
    argv.get(script_at)
        .filter(|script| is_template(script))
        .map(|_| script_at)
}

fn basename(program: &str) -> &str {
    program.rsplit(['/', '\\']).next().unwrap_or(program)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(argv: &[&str], expected: Option<usize>) {
        assert_eq!(templated_script(argv), expected, "{argv:?}");
    }

    #[test]
    fn scripts_with_templates_are_found_and_arguments_are_not() {
        check(&["sh", "-c", "rm -rf {{ inputs.f }}"], Some(2));
        check(&["/bin/bash", "-lc", "echo {{ x }}"], Some(2));
        check(
            &["env", "A=1", "bash", "-c", "{% if x %}ls{% endif %}"],
            Some(4),
        );
        check(&["python3", "-c", "print('{{ x }}')"], Some(2));
        check(&["node", "--eval", "{{ code }}"], Some(2));
        check(&["cmd", "/c", "dir {{ x }}"], Some(2));
        check(&["sh", "-c", "grep \"$PATTERN\" f"], None);
        check(&["sh", "script.sh", "{{ x }}"], None);
        check(&["grep", "-c", "{{ x }}", "f"], None);
        check(&["git", "diff", "{{ inputs.base }}...HEAD"], None);
        check(&[], None);
    }
}
